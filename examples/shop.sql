-- A small shop to govern: customers with personal data, and their orders.
-- Load it as the role that owns the tables (shop_owner in the tour):
--   psql -d shop -U shop_owner -f examples/shop.sql
CREATE SCHEMA shop;

CREATE TABLE shop.customers (
    customer_id integer PRIMARY KEY,
    full_name   text NOT NULL,
    email       text NOT NULL,
    ssn         text,
    country     text NOT NULL,
    birth_date  date
);

CREATE TABLE shop.orders (
    order_id    integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES shop.customers,
    amount      numeric(10, 2) NOT NULL,
    ordered_at  timestamptz NOT NULL
);

INSERT INTO shop.customers VALUES
    (1, 'Maria Garcia', 'maria.garcia@example.com', '524-11-7302', 'United States', '1984-03-12'),
    (2, 'James Smith', 'james.smith@example.org', '219-45-1876', 'United States', '1979-11-02'),
    (3, 'Wei Chen', 'wei.chen@example.net', '401-55-2210', 'United States', '1992-07-21'),
    (4, 'Olivia Johnson', 'olivia.johnson@example.com', '331-82-4417', 'United States', '1967-01-30'),
    (5, 'Noah Williams', 'noah.williams@example.com', '612-40-1185', 'United States', '2001-09-09'),
    (6, 'Emma Brown', 'emma.brown@example.org', '145-76-3390', 'United States', '1995-05-17'),
    (7, 'Lucia Hernandez', 'lucia.hernandez@example.mx', NULL, 'Mexico', '1988-12-24'),
    (8, 'Diego Lopez', 'diego.lopez@example.mx', NULL, 'Mexico', '1973-04-08'),
    (9, 'Sofia Martinez', 'sofia.martinez@example.mx', NULL, 'Mexico', '1999-10-13'),
    (10, 'Lukas Muller', 'lukas.muller@example.de', NULL, 'Germany', '1981-06-05'),
    (11, 'Anna Schmidt', 'anna.schmidt@example.de', NULL, 'Germany', '1990-02-28'),
    (12, 'Camille Dubois', 'camille.dubois@example.fr', NULL, 'France', '1986-08-19');

INSERT INTO shop.orders
SELECT n, 1 + n % 12, (n * 7 % 200) + 9.99, timestamptz '2026-01-01' + n * interval '1 day'
FROM generate_series(1, 60) AS n;
