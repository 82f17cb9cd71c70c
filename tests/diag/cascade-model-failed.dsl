# The model fails to build: the recipe that names it reports nothing more.
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(0)
recipe r {
  model = m
  data = cifar10
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(m(reshape(img, [B, 3072])))
  }
}
# expect: tests/diag/cascade-model-failed.dsl:3:13: error: a parameter dimension must be an integer between 1 and 2^40, got the integer 0
# expect:     3 |   param w: [n] = zeros()
# expect:       |             ^
# expect: tests/diag/cascade-model-failed.dsl:8:11: note: in this instance of block 'A'
# expect:     8 | model m = A(0)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
