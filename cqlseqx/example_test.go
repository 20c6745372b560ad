package cqlseqx_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/scylladb/gocqlx/v3"
	"github.com/scylladb/gocqlx/v3/qb"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// examplePlayers connects to the test node with gocqlx and creates a table
// of seven players; the table is dropped afterwards.
func examplePlayers() (gocqlx.Session, string, func()) {
	ctx := context.Background()
	admin, err := cqlseqtest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ks, err := cqlseqtest.CreateKeyspace(ctx, admin, "xexample")
	if err != nil {
		log.Fatal(err)
	}
	if err := admin.Query("CREATE TABLE " + ks + ".players (team text, id int, full_name text, PRIMARY KEY (team, id))").Exec(); err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 7; i++ {
		if err := admin.Query("INSERT INTO "+ks+".players (team, id, full_name) VALUES ('red', ?, ?)", i, fmt.Sprint("player ", i)).Exec(); err != nil {
			log.Fatal(err)
		}
	}
	session, err := sharedSession()
	if err != nil {
		log.Fatal(err)
	}
	return session, ks + ".players", func() {
		cqlseqtest.DropKeyspace(ctx, admin, ks)
		admin.Close()
	}
}

func ExampleStream() {
	session, players, done := examplePlayers()
	defer done()

	type Player struct {
		ID       int
		FullName string // the column full_name, by gocqlx's rules
	}
	stmt, names := qb.Select(players).Columns("id", "full_name").Where(qb.Eq("team")).ToCql()
	q := session.Query(stmt, names).BindMap(qb.M{"team": "red"})
	for p, err := range cqlseqx.Stream[Player](context.Background(), q, cqlseq.WithFetchSize(3)) {
		if err != nil {
			log.Fatal(err)
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
	session, players, done := examplePlayers()
	defer done()

	q := session.Query("SELECT id FROM "+players+" WHERE team = ?", []string{"team"}).Bind("red")
	for page, err := range cqlseqx.Pages[int](context.Background(), q, cqlseq.WithFetchSize(3)) {
		if err != nil {
			log.Fatal(err)
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
	session, players, done := examplePlayers()
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
