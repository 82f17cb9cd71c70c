# Bodies nested deeper than the parser follows.
block L() {
  def forward(x: [B, 4]) -> [B, 4] {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    if true {
    return x
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
  }
}
model m = L()
# expect: tests/diag/limit-block-depth.dsl:299:13: error: nesting is too deep (the parser's stack holds 1200 entries: about a thousand nested brackets or operators, or 300 nested bodies)
# expect:   299 |     if true {
# expect:       |             ^
# expect: 1 error
# exit: 1
