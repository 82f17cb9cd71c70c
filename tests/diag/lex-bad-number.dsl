mask = 0xff
# expect: tests/diag/lex-bad-number.dsl:1:8: error: '0xff' is not a number: numbers are decimal, such as 42, 0.5 or 1e-3
# expect:     1 | mask = 0xff
# expect:       |        ^~~~
# expect: 1 error
# exit: 1
