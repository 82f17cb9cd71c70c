dim = 192 )
heads = [3]]
depth = 12
# expect: tests/diag/syntax-stray-closing.dsl:1:11: error: syntax error: unexpected ')'; expected end of line or an operator
# expect:     1 | dim = 192 )
# expect:       |           ^
# expect: tests/diag/syntax-stray-closing.dsl:2:12: error: syntax error: unexpected ']'; expected end of line or an operator
# expect:     2 | heads = [3]]
# expect:       |            ^
# expect: 2 errors
# exit: 1
