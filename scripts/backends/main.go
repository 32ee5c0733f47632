// Command backends prints which PostgreSQL and Redis the test suite will use,
// so `make test` says it before the tests run.
package main

import (
	"fmt"

	"github.com/weifang/kaigong-zsb/internal/testenv"
)

func main() {
	fmt.Println("tests use:", testenv.Backends())
}
