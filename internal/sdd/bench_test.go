package sdd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchColumns builds 1,000 columns of 100 sampled values each, a mix of
// sensitive kinds and ordinary data, from a fixed seed.
func benchColumns() []Column {
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []struct {
		name, dataType string
		value          func() string
	}{
		{"email", "text", func() string { return fmt.Sprintf("user%d@example.com", r.IntN(1e6)) }},
		{"phone", "text", func() string { return fmt.Sprintf("(%d) %d-%04d", 200+r.IntN(800), 200+r.IntN(800), r.IntN(1e4)) }},
		{"ssn", "text", func() string { return fmt.Sprintf("%03d-%02d-%04d", 1+r.IntN(665), 1+r.IntN(99), 1+r.IntN(9999)) }},
		{"card", "text", func() string { return "4111111111111111" }},
		{"created_at", "timestamp", func() string { return "2024-01-02 03:04:05+00" }},
		{"amount", "numeric", func() string { return fmt.Sprintf("%d.%02d", r.IntN(1000), r.IntN(100)) }},
		{"id", "bigint", func() string { return fmt.Sprint(r.Int64N(1e10)) }},
		{"comment", "text", func() string { return fmt.Sprintf("order %d shipped late, customer notified", r.IntN(1e5)) }},
		{"status", "text", func() string { return []string{"open", "closed", "pending"}[r.IntN(3)] }},
		{"first_name", "text", func() string { return []string{"Ann", "Bob", "Carla", "Dmitri"}[r.IntN(4)] }},
	}
	cols := make([]Column, 1000)
	for i := range cols {
		k := kinds[i%len(kinds)]
		values := make([]string, 100)
		for j := range values {
			values[j] = k.value()
		}
		cols[i] = Column{Name: fmt.Sprintf("%s_%d", k.name, i), DataType: k.dataType, Values: values}
	}
	return cols
}

// BenchmarkScore scores 1,000 columns of 100 sampled values with every
// built-in identifier and reports columns per second.
func BenchmarkScore(b *testing.B) {
	cols := benchColumns()
	s := MustCompile(DefaultFramework(), nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cols {
			s.Score(c)
		}
	}
	b.ReportMetric(float64(len(cols)*b.N)/b.Elapsed().Seconds(), "columns/s")
}

// BenchmarkScoreUserIdentifiers adds a regex, a dictionary and a column
// name identifier to the built-ins.
func BenchmarkScoreUserIdentifiers(b *testing.B) {
	cols := benchColumns()
	user := []Identifier{
		{Name: "ACCOUNT", Type: TypeRegex, Config: Config{Regex: `^[0-9]{9}-[0-9]{3}-[0-9]$`, Tags: []string{"Discovered.Account"}}},
		{Name: "STATUS", Type: TypeDictionary, Config: Config{Values: []string{"open", "closed"}, Tags: []string{"Discovered.Status"}}},
		{Name: "NOTE", Type: TypeColumnNameRegex, Config: Config{ColumnNameRegex: "comment|note", Tags: []string{"Discovered.Note"}}},
	}
	f := DefaultFramework()
	for _, id := range user {
		f.Classifiers = append(f.Classifiers, FrameworkIdentifier{Name: id.Name})
	}
	s := MustCompile(f, lookupOf(user...))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cols {
			s.Score(c)
		}
	}
	b.ReportMetric(float64(len(cols)*b.N)/b.Elapsed().Seconds(), "columns/s")
}
