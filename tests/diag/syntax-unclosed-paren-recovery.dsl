# The line breaks after an open '(' are spaces, so the error shows on the next line;
# the note shows the bracket, and parsing resumes after that line.
dim = (192 * 2
heads = 3
depth = = 12
# expect: tests/diag/syntax-unclosed-paren-recovery.dsl:4:1: error: syntax error: unexpected name 'heads'; expected ')', ',' or an operator
# expect:     4 | heads = 3
# expect:       | ^~~~~
# expect: tests/diag/syntax-unclosed-paren-recovery.dsl:3:7: note: this '(' is not closed
# expect:     3 | dim = (192 * 2
# expect:       |       ^
# expect: tests/diag/syntax-unclosed-paren-recovery.dsl:5:9: error: syntax error: unexpected '='; expected an expression
# expect:     5 | depth = = 12
# expect:       |         ^
# expect: 2 errors
# exit: 1
