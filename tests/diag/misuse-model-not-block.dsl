heads = 3
model m = heads
# expect: tests/diag/misuse-model-not-block.dsl:2:11: error: a model is an instance of a block, such as MAE(); got the integer 3
# expect:     2 | model m = heads
# expect:       |           ^~~~~
# expect: 1 error
# exit: 1
