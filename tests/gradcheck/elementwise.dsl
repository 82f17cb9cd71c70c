# Gradient check: the elementwise ops and broadcasting (tests/gradcheck/run.sh).
block M() {
  param a: [4, 8] = normal(1.0)
  param b: [8] = uniform(0.5, 1.5)
  param c: [1, 8] = uniform(-1, 1)
  def forward(img: [B, 3, 32, 32]) -> [B, 4, 8] {
    x = img[:, 0, 0:4, 0:8]
    y = x * a + b - c / b
    y = maximum(y, a) + minimum(y, c) + neg(y)
    y = exp(tanh(y)) + sigmoid(y) + gelu(y) + relu(y) + abs(y)
    z = y * y + 1
    y = log(z) + sqrt(z) + rsqrt(z) + pow(z, b) + z ** 0.5
    return cast(cast(y, f64), f32)
  }
}
model m = M()

recipe check {
  model = m
  data = cifar10
  lr = 1e-3
  epochs = 1
  batch = 2
  def loss(img: [B, 3, 32, 32]) {
    return mean(m(img) ** 2)
  }
}
