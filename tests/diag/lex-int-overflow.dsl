tokens = 99999999999999999999
# expect: tests/diag/lex-int-overflow.dsl:1:10: error: integer 99999999999999999999 does not fit in 64 bits
# expect:     1 | tokens = 99999999999999999999
# expect:       |          ^~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
