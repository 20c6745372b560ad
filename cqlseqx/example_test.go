package cqlseqx_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/scylladb/gocqlx/v3"
	"github.com/scylladb/gocqlx/v3/qb"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// examplePlayers connects to the test node with gocqlx and creates a table
// of seven players; the table is dropped afterwards. An Example prints an
// error it meets and returns: its output then differs from the one wanted
// and it fails, saying why, as log.Fatal would not (it ends the test
// binary). Under go test -short the Examples do not run (see TestMain).
func examplePlayers() (gocqlx.Session, string, func(), error) {
	ctx := context.Background()
	admin, err := cqlseqtest.Connect(ctx)
	if err != nil {
		return gocqlx.Session{}, "", nil, err
	}
	ks, err := cqlseqtest.CreateKeyspace(ctx, admin, "xexample")
	if err != nil {
		admin.Close()
		return gocqlx.Session{}, "", nil, err
	}
	done := func() {
		cqlseqtest.DropKeyspace(ctx, admin, ks)
		admin.Close()
	}
	stmts := []string{"CREATE TABLE " + ks + ".players (team text, id int, full_name text, PRIMARY KEY (team, id))"}
	for i := 1; i <= 7; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.players (team, id, full_name) VALUES ('red', %d, 'player %d')", ks, i, i))
	}
	for _, st := range stmts {
		if err := admin.Query(st).Exec(); err != nil {
			done()
			return gocqlx.Session{}, "", nil, err
		}
	}
	session, err := sharedSession()
	if err != nil {
		done()
		return gocqlx.Session{}, "", nil, err
	}
	return session, ks + ".players", done, nil
}

func ExampleStream() {
	session, players, done, err := examplePlayers()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	type Player struct {
		ID       int
		FullName string // the column full_name, by gocqlx's rules
	}
	stmt, names := qb.Select(players).Columns("id", "full_name").Where(qb.Eq("team")).ToCql()
	q := session.Query(stmt, names).BindMap(qb.M{"team": "red"})
	for p, err := range cqlseqx.Stream[Player](context.Background(), q, cqlseq.WithFetchSize(3)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.ID, p.FullName)
	}
	// Output:
	// 1 player 1
	// 2 player 2
	// 3 player 3
	// 4 player 4
	// 5 player 5
	// 6 player 6
	// 7 player 7
}

func ExamplePages() {
	session, players, done, err := examplePlayers()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	q := session.Query("SELECT id FROM "+players+" WHERE team = ?", []string{"team"}).Bind("red")
	for page, err := range cqlseqx.Pages[int](context.Background(), q, cqlseq.WithFetchSize(3)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("page", page.Number, page.Rows, "more:", page.Cursor != "")
	}
	// Output:
	// page 1 [1 2 3] more: true
	// page 2 [4 5 6] more: true
	// page 3 [7] more: false
}

// Errors are package cqlseq's: errors.As finds the same types through
// either front end.
func ExampleStream_errors() {
	session, players, done, err := examplePlayers()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	type Narrow struct {
		ID       int8
		FullName int // text cannot be decoded into an int
	}
	q := session.Query("SELECT id, full_name FROM "+players, nil)
	for _, err := range cqlseqx.Stream[Narrow](context.Background(), q) {
		var me *cqlseq.MappingError
		if errors.As(err, &me) {
			fmt.Printf("column %q, field %s: %v\n", me.Column, me.Field, errors.Is(err, cqlseq.ErrMapping))
		}
	}
	// Output:
	// column "full_name", field Narrow.FullName: true
}
