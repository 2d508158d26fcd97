module ferry.dev/goref

go 1.25
