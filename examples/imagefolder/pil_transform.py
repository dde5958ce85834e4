"""Aisle ETL (Python code runtime): the usual torchvision evaluation preprocessing,
Resize(256) + CenterCrop(224), done next to the data and re-encoded as JPEG (quality 90).

Register it:  aisle etl init code pil-resize pil_transform.py
Then read any image through it: GET /v1/objects/BUCKET/OBJ?etl_name=pil-resize, or the
aisle-fs view MOUNT/.etl/pil-resize/BUCKET/... Needs only PIL (python3-pil).
"""
import io

from PIL import Image

RESIZE = 256  # shorter side, like torchvision.transforms.Resize(256)
CROP = 224    # like torchvision.transforms.CenterCrop(224)
QUALITY = 90


def transform(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    if w <= h:
        ow, oh = RESIZE, int(RESIZE * h / w)
    else:
        ow, oh = int(RESIZE * w / h), RESIZE
    if (ow, oh) != (w, h):
        img = img.resize((ow, oh), Image.BILINEAR)
    left = int(round((ow - CROP) / 2.0))
    top = int(round((oh - CROP) / 2.0))
    img = img.crop((left, top, left + CROP, top + CROP))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


if __name__ == "__main__":  # local check: python3 pil_transform.py in.jpg out.jpg
    import sys
    with open(sys.argv[1], "rb") as f:
        res = transform(f.read())
    with open(sys.argv[2], "wb") as f:
        f.write(res)
