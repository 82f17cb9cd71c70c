x = 1
model = 5
# expect: tests/diag/misuse-model-keyword.dsl:2:1: error: 'model' is a keyword: a model is declared as `model NAME = Block(...)`
# expect:     2 | model = 5
# expect:       | ^~~~~
# expect: 1 error
# exit: 1
