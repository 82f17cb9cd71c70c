# A character that starts no token; the rest of its line is skipped.
x = 1 $ 2
# expect: tests/diag/lex-bad-char.dsl:2:7: error: unexpected character '$'
# expect:     2 | x = 1 $ 2
# expect:       |       ^
# expect: 1 error
# exit: 1
