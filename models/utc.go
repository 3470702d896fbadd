package models

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// SQLite has no time type: the driver (mattn/go-sqlite3) writes a time as
// text in the zone the time.Time carries, "2006-01-02 15:04:05.999999999-07:00",
// and SQLite compares that text as text. Times in two zones then compare
// out of order: "12:00+00:00" sorts after "08:30-05:00" although it is
// earlier. So every time oidcd stores or compares is UTC: the app's clock
// and GORM's NowFunc say so, the driver oidcd opens SQLite with makes sure
// of it, and utcTimes rewrites the times an older oidcd stored in the
// server's local zone. PostgreSQL's timestamptz compares
// instants and needs none of this.

// utcSQLiteDriver registers, once, the SQLite driver with every time
// argument turned to UTC before it is bound, and returns its name. Every
// time a query stores or compares is then UTC text, whichever zone the
// caller's time.Time carries.
func utcSQLiteDriver() string {
	registerUTCSQLite.Do(func() {
		sql.Register(utcSQLiteName, utcDriver{sqlite3.SQLiteDriver{ConnectHook: sqliteConnectHook}})
	})
	return utcSQLiteName
}

const utcSQLiteName = "sqlite3_utc"

var registerUTCSQLite sync.Once

// utcDriver is mattn/go-sqlite3 with utcConn connections.
type utcDriver struct{ sqlite3.SQLiteDriver }

func (d utcDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.SQLiteDriver.Open(dsn)
	if err != nil {
		return nil, err
	}
	return utcConn{c.(*sqlite3.SQLiteConn)}, nil
}

// utcConn is a SQLite connection (every method of the driver's own) that
// also checks arguments: database/sql's default conversion, then a time
// to UTC.
type utcConn struct{ *sqlite3.SQLiteConn }

func (utcConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if t, ok := v.(time.Time); ok {
		v = t.UTC()
	}
	nv.Value = v
	return nil
}

// sqliteTimeLayout is how the driver writes a time (its
// SQLiteTimestampFormats[0]).
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// sqliteReadLayouts are the layouts the driver reads a time column in, in
// its order; a value without an offset is UTC to it.
var sqliteReadLayouts = []string{
	sqliteTimeLayout,
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// utcBatch bounds how many rows one step of the rewrite reads and updates.
const utcBatch = 500

// utcTimes rewrites, on SQLite, every stored time not written in UTC to
// the same instant in UTC: a migration, run once per database in the
// migrations' transaction (migrate). A value the driver could not read as
// a time is left as it is.
func utcTimes(tx *gorm.DB) error {
	if tx.Dialector.Name() != "sqlite" {
		return nil
	}
	for _, model := range allModels() {
		stmt := &gorm.Statement{DB: tx}
		if err := stmt.Parse(model); err != nil {
			return fmt.Errorf("models: utc times: %w", err)
		}
		for _, f := range stmt.Schema.Fields {
			if f.DataType != schema.Time || f.DBName == "" {
				continue
			}
			if err := utcColumn(tx, stmt.Schema.Table, f.DBName); err != nil {
				return fmt.Errorf("models: utc times of %s.%s: %w", stmt.Schema.Table, f.DBName, err)
			}
		}
	}
	return nil
}

// utcColumn rewrites one column, in rowid order, a batch at a time.
func utcColumn(tx *gorm.DB, table, column string) error {
	q := fmt.Sprintf(`SELECT rowid, CAST(%[2]s AS TEXT) FROM %[1]s
		WHERE rowid > ? AND typeof(%[2]s) = 'text' AND %[2]s NOT LIKE '%%+00:00'
		ORDER BY rowid LIMIT ?`, quoteIdent(table), quoteIdent(column))
	update := fmt.Sprintf(`UPDATE %[1]s SET %[2]s = ? WHERE rowid = ?`, quoteIdent(table), quoteIdent(column))
	var last int64
	for {
		type row struct {
			ID    int64
			Value string
		}
		var rows []row
		rs, err := tx.Raw(q, last, utcBatch).Rows()
		if err != nil {
			return err
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.ID, &r.Value); err != nil {
				rs.Close()
				return err
			}
			rows = append(rows, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			utc, ok := sqliteTimeUTC(r.Value)
			if !ok || utc == r.Value {
				continue
			}
			if err := tx.Exec(update, utc, r.ID).Error; err != nil {
				return err
			}
		}
		last = rows[len(rows)-1].ID
	}
}

// sqliteTimeUTC reads a stored time as the driver does and writes it back
// in UTC, as the driver writes a UTC time.
func sqliteTimeUTC(v string) (string, bool) {
	v = strings.TrimSuffix(v, "Z")
	for _, layout := range sqliteReadLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC().Format(sqliteTimeLayout), true
		}
	}
	return "", false
}

// quoteIdent quotes a table or column name from the models' schema.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
