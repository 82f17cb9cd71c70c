bias = zeros([4]) + 1
# expect: tests/diag/misuse-tensor-top.dsl:1:8: error: tensor operations belong in a function body
# expect:     1 | bias = zeros([4]) + 1
# expect:       |        ^~~~~~~~~~
# expect: 1 error
# exit: 1
