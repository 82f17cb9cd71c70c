# A tiny model for the golden tests of the generated code (tests/codegen.py): a block
# used twice (two layers of one definition, so one kernel serves both), a parameter
# shared by nothing, GELU and a mean as the loss.
block Lin(n_in, n_out) {
  param w: [n_out, n_in] = normal(0.5)
  param b: [n_out] = zeros()
  def forward(x: [B, n_in]) -> [B, n_out] {
    return gelu(matmul(x, w, tb = 1) + b)
  }
}

block Net() {
  first = Lin(4, 4)
  second = Lin(4, 4)
  def forward(x: [B, 4]) -> [B, 4] {
    return second(first(x))
  }
}
model net = Net()

recipe fit {
  model = net
  data = cifar10
  lr = 1e-3
  epochs = 1
  batch = 4
  micro_batch = 2
  def loss(img: [B, 3, 32, 32]) {
    x = reshape(img[:, 0, 0, 0:4], [B, 4])
    y = net(x)
    return mean(y * y)
  }
}
