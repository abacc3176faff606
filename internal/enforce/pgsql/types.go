package pgsql

import "strings"

// Kind is the family of a column's type, read from the live catalog. The
// renderer casts only to the types named here, spelled by itself, so no
// type name read from anywhere is ever pasted into SQL.
type Kind int

const (
	KindOther       Kind = iota // anything else: masks that change the value show it as text
	KindText                    // text, varchar, char, name
	KindInt2                    // smallint
	KindInt4                    // integer
	KindInt8                    // bigint
	KindNumeric                 // numeric
	KindFloat4                  // real
	KindFloat8                  // double precision
	KindDate                    // date
	KindTimestamp               // timestamp without time zone
	KindTimestampTZ             // timestamp with time zone
	KindBool                    // boolean
)

// KindOfType maps a base type's OID (a domain's base type for domains) to
// its kind.
func KindOfType(oid uint32) Kind {
	switch oid {
	case 25, 1043, 1042, 19:
		return KindText
	case 21:
		return KindInt2
	case 23:
		return KindInt4
	case 20:
		return KindInt8
	case 1700:
		return KindNumeric
	case 700:
		return KindFloat4
	case 701:
		return KindFloat8
	case 1082:
		return KindDate
	case 1114:
		return KindTimestamp
	case 1184:
		return KindTimestampTZ
	case 16:
		return KindBool
	}
	return KindOther
}

var kindSQL = map[Kind]string{
	KindText:        "pg_catalog.text",
	KindInt2:        "pg_catalog.int2",
	KindInt4:        "pg_catalog.int4",
	KindInt8:        "pg_catalog.int8",
	KindNumeric:     "pg_catalog.numeric",
	KindFloat4:      "pg_catalog.float4",
	KindFloat8:      "pg_catalog.float8",
	KindDate:        "pg_catalog.date",
	KindTimestamp:   "pg_catalog.timestamp",
	KindTimestampTZ: "pg_catalog.timestamptz",
	KindBool:        "pg_catalog.bool",
}

func (k Kind) numeric() bool {
	switch k {
	case KindInt2, KindInt4, KindInt8, KindNumeric, KindFloat4, KindFloat8:
		return true
	}
	return false
}

func (k Kind) integer() bool { return k == KindInt2 || k == KindInt4 || k == KindInt8 }

func (k Kind) temporal() bool { return k == KindDate || k == KindTimestamp || k == KindTimestampTZ }

// String names the kind for messages.
func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindOther:
		return "other"
	}
	return kindSQL[k][len("pg_catalog."):]
}

// KindOfName maps a type as the catalog records it (the remote type, such as
// "character varying(255)" or "timestamp with time zone") to its kind, for
// rendering without a live database at hand.
func KindOfName(name string) Kind {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(name)), "(")
	switch strings.TrimSpace(base) {
	case "text", "character varying", "varchar", "character", "char", "bpchar", "name", "citext":
		return KindText
	case "smallint", "int2":
		return KindInt2
	case "integer", "int", "int4":
		return KindInt4
	case "bigint", "int8":
		return KindInt8
	case "numeric", "decimal":
		return KindNumeric
	case "real", "float4":
		return KindFloat4
	case "double precision", "float8":
		return KindFloat8
	case "date":
		return KindDate
	case "timestamp", "timestamp without time zone":
		return KindTimestamp
	case "timestamptz", "timestamp with time zone":
		return KindTimestampTZ
	case "boolean", "bool":
		return KindBool
	}
	return KindOther
}
