package store

import (
	"strings"
	"testing"
	"testing/fstest"
)

// A version is one shared file or one file per back end; anything else is
// refused when the migrations are read, not half-applied later.
func TestParseMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	cases := []struct {
		name    string
		files   fstest.MapFS
		wantErr string
		sqlite  []string // each version's SQL for SQLite
		pg      []string
	}{
		{"shared and per back end", fstest.MapFS{
			"m/0001_init.sql":          file("A"),
			"m/0002_lean.sqlite.sql":   file("S"),
			"m/0002_lean.postgres.sql": file("P"),
			"m/0003_more.sql":          file("C"),
		}, "", []string{"A", "S", "C"}, []string{"A", "P", "C"}},
		{"one back end only", fstest.MapFS{
			"m/0001_init.sql":        file("A"),
			"m/0002_lean.sqlite.sql": file("S"),
		}, "needs either one shared file or one for each", nil, nil},
		{"shared and per back end at once", fstest.MapFS{
			"m/0001_init.sql":          file("A"),
			"m/0001_init.sqlite.sql":   file("S"),
			"m/0001_init.postgres.sql": file("P"),
		}, "needs either one shared file or one for each", nil, nil},
		{"two names for one version", fstest.MapFS{
			"m/0001_init.sql":  file("A"),
			"m/0001_other.sql": file("B"),
		}, "has another file", nil, nil},
		{"a gap", fstest.MapFS{
			"m/0001_init.sql": file("A"),
			"m/0003_more.sql": file("C"),
		}, "expected version 2", nil, nil},
		{"a bad name", fstest.MapFS{"m/init.sql": file("A")}, "NNNN_name.sql", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := parseMigrations(c.files, "m")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("parseMigrations = %v, want an error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sqlite, pg []string
			for _, m := range ms {
				sqlite, pg = append(sqlite, m.sqlFor("sqlite")), append(pg, m.sqlFor("postgres"))
			}
			if strings.Join(sqlite, ",") != strings.Join(c.sqlite, ",") || strings.Join(pg, ",") != strings.Join(c.pg, ",") {
				t.Errorf("SQLite %v, PostgreSQL %v; want %v, %v", sqlite, pg, c.sqlite, c.pg)
			}
		})
	}
}

// The embedded migrations parse, and each version changes something on at
// least one back end.
func TestEmbeddedMigrations(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		n := 0
		for _, k := range dialectKinds {
			n += len(statements(m.sqlFor(k), nil))
		}
		if n == 0 {
			t.Errorf("migration %s has no statements for any back end", m.name)
		}
	}
}
