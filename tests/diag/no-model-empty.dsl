# nothing but a comment
# expect: tests/diag/no-model-empty.dsl:1:1: error: the file defines no model (write `model NAME = Block(...)`)
# expect:     1 | # nothing but a comment
# expect:       | ^
# expect: 1 error
# exit: 1
