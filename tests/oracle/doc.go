// Package oracle holds small programs that answer questions with golang.org/x/mod,
// the reference stoa's C++ is differentially tested against.
package oracle

import _ "golang.org/x/mod/module"
