param w: [4] = zeros()
# expect: tests/diag/misuse-param-outside-block.dsl:1:1: error: parameters are declared in a block body, not at the top level
# expect:     1 | param w: [4] = zeros()
# expect:       | ^~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
