lr =
# expect: tests/diag/syntax-missing-value.dsl:1:5: error: syntax error: unexpected end of file; expected an expression
# expect:     1 | lr =
# expect:       |     ^
# expect: 1 error
# exit: 1
