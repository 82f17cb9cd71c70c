eps = 1e999
# expect: tests/diag/lex-float-overflow.dsl:1:7: error: number 1e999 is too large
# expect:     1 | eps = 1e999
# expect:       |       ^~~~~
# expect: 1 error
# exit: 1
