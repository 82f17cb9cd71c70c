block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
recipe r {
  model = m
  data = cifar10
  lr = 0.1
  epochs = 10
  batch = 8
  train = ["wt"]
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-train-unknown.dsl:14:3: error: 'train': model 'm' has no parameter 'wt' or 'wt.*'; did you mean 'w'?
# expect:    14 |   train = ["wt"]
# expect:       |   ^~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
