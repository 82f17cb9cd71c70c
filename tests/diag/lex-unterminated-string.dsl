name = "patch embedding
# expect: tests/diag/lex-unterminated-string.dsl:1:8: error: string is not closed on its line
# expect:     1 | name = "patch embedding
# expect:       |        ^~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
