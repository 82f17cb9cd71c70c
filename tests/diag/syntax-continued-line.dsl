# A line that ends with an operator goes on: the error shows on the next line,
# and the note shows where the statement was carried over.
lr =
epochs = 10
# expect: tests/diag/syntax-continued-line.dsl:4:8: error: syntax error: unexpected '='; expected end of line or an operator
# expect:     4 | epochs = 10
# expect:       |        ^
# expect: tests/diag/syntax-continued-line.dsl:3:4: note: the statement goes on after this '=' at the end of the line
# expect:     3 | lr =
# expect:       |    ^
# expect: 1 error
# exit: 1
