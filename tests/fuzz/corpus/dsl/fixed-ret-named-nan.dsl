block N(n) {
  def forward(x: [B, n]) {
    inf = x * 2.0
    nan = x + 1.0
    return inf, nan
  }
}
model m = N(2)
