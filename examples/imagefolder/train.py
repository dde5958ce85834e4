#!/usr/bin/python3
"""An ordinary torchvision input pipeline: ImageFolder + DataLoader, one pass per epoch.

Nothing here knows about Aisle. Point ROOT at a local ImageFolder tree, or at an aisle-fs
transform view such as MOUNT/.etl/resize/BUCKET/train, where the images already arrive
resized and cropped by the cluster. The model step is left out on purpose: this measures the
input pipeline (read + decode + preprocess), which is what the ETL takes off the client.

  train.py ROOT                   # images arrive 224x224: just ToTensor()
  train.py ROOT --client-resize   # what you do without the ETL: Resize(256) + CenterCrop(224)
"""
import argparse
import time

import torch
import torchvision
from torchvision import transforms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="ImageFolder root: ROOT/<class>/<image>")
    ap.add_argument("--client-resize", action="store_true",
                    help="Resize(256) + CenterCrop(224) in the DataLoader workers")
    ap.add_argument("--epochs", type=int, default=1, help="the last epoch is the one reported")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()

    steps = [transforms.Resize(256), transforms.CenterCrop(224)] if a.client_resize else []
    tf = transforms.Compose(steps + [transforms.ToTensor()])
    ds = torchvision.datasets.ImageFolder(a.root, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch_size, num_workers=a.workers,
                                         shuffle=True)
    print("dataset: %d images, %d classes under %s%s" % (
        len(ds), len(ds.classes), a.root, " (client-side resize)" if a.client_resize else ""))

    for epoch in range(1, a.epochs + 1):
        t0 = time.monotonic()
        n, pixel_sum, pixels, label_sum, shape = 0, 0.0, 0, 0, None
        for images, labels in loader:
            # (a real loop would run model(images), loss.backward(), optimizer.step() here)
            n += images.shape[0]
            pixel_sum += images.double().sum().item()
            pixels += images.numel()
            label_sum += int(labels.sum())
            shape = tuple(images.shape[1:])
        dt = time.monotonic() - t0
        print("epoch %d: %d images, %d classes, %.2f s, %.1f images/s, mean pixel %.4f, "
              "label sum %d, image shape %s" % (epoch, n, len(ds.classes), dt, n / dt,
                                                 pixel_sum / max(pixels, 1), label_sum, shape),
              flush=True)


if __name__ == "__main__":
    main()
