dim = 192
dim = 384
# expect: tests/diag/dup-constant.dsl:2:1: error: 'dim' is already defined
# expect:     2 | dim = 384
# expect:       | ^~~
# expect: tests/diag/dup-constant.dsl:1:1: note: first defined here
# expect:     1 | dim = 192
# expect:       | ^~~
# expect: 1 error
# exit: 1
