block Deep(n) {
  def forward(x: [B, n]) -> [B, n] {
    return ((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))
  }
}
model d = Deep(((((((1)))))))
recipe
