# ---------------------------------------------------------------- recipes

def mae_loss(img: [B, channels, image, image]) {
  pred, mask = mae(img)
  return mean((pred - img) ** 2 * mask) / mask_ratio
}

def classify(img: [B, channels, image, image], label: i32[B]) {
  logits = classifier(img)
  loss = cross_entropy(logits, label)
  acc = mean(argmax(logits, axis = 1) == label)
  return loss, acc
}

recipe pretrain {
  model = mae
  data = cifar10
  optimizer = adamw
  lr = 1.5e-4 * 4096 / 256
  betas = (0.9, 0.95)
  eps = 1e-8
  weight_decay = 0.05
  schedule = warmup_cosine
  warmup = 200
  epochs = 2000
  batch = 4096
  micro_batch = 512
  def loss(img: [B, channels, image, image]) {
    return mae_loss(img)
  }
}

recipe finetune {
  model = classifier
  init = pretrain
  data = cifar10
  val_split = test
  optimizer = adamw
  lr = 1e-3 * 128 / 256
  betas = (0.9, 0.999)
  weight_decay = 0.05
  schedule = warmup_cosine
  warmup = 5
  epochs = 100
  batch = 128
  def loss(img: [B, channels, image, image], label: i32[B]) {
    return classify(img, label)
  }
}

recipe linprobe {
  model = classifier
  init = pretrain
  train = ["head"]
  data = cifar10
  val_split = test
  optimizer = adamw
  lr = 1e-3 * 128 / 256
  betas = (0.9, 0.999)
  weight_decay = 0.05
  schedule = warmup_cosine
  warmup = 5
  epochs = 100
  batch = 128
  def loss(img: [B, channels, image, image], label: i32[B]) {
    return classify(img, label)
  }
}
