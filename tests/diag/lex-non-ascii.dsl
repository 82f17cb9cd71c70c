# Outside strings and comments the DSL is ASCII: one error for the whole character.
λ = 3
# expect: tests/diag/lex-non-ascii.dsl:2:1: error: unexpected character 'λ' (the DSL is ASCII outside strings and comments)
# expect:     2 | λ = 3
# expect:       | ^~
# expect: 1 error
# exit: 1
