split = 'test'
# expect: tests/diag/lex-single-quotes.dsl:1:9: error: strings take double quotes: "test"
# expect:     1 | split = 'test'
# expect:       |         ^~~~~~
# expect: 1 error
# exit: 1
