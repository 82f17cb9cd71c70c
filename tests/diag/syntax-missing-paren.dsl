dim = max(192, 384
# expect: tests/diag/syntax-missing-paren.dsl:1:19: error: syntax error: unexpected end of file; expected ')', ',' or an operator
# expect:     1 | dim = max(192, 384
# expect:       |                   ^
# expect: tests/diag/syntax-missing-paren.dsl:1:10: note: this '(' is not closed
# expect:     1 | dim = max(192, 384
# expect:       |          ^
# expect: 1 error
# exit: 1
