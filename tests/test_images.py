"""Images: checked at read time, re-encoded at build time so no EXIF (GPS) leaves."""
import hashlib

import pytest
from PIL import Image

from gongkai import images
from gongkai.images import BodyImage, Ref


def photo_with_gps(path, size=(1200, 800), orientation=None):
    im = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"                               # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 18.0, 42.5)              # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (120.0, 35.0, 10.1)             # GPSLongitudeRef, GPSLongitude
    if orientation:
        exif[0x0112] = orientation
    im.save(path, "JPEG", exif=exif)
    assert Image.open(path).getexif().get_ifd(0x8825), "fixture must carry GPS"
    return path


def test_find_markdown_and_html_images_with_lines():
    body = "第一段\n\n![图解一](a.png) 与 ![](b.jpg \"题\")\n<img alt='图三' src=\"c.png\">\n"
    assert images.find(body, 10) == [Ref("a.png", "图解一", 12), Ref("b.jpg", "", 12), Ref("c.png", "图三", 13)]


@pytest.mark.parametrize("src, alt, expected", [
    ("https://cdn.example/x.png", "图", "is not on this site"),
    ("//cdn.example/x.png", "图", "is not on this site"),
    ("../x.png", "图", "expected a file name beside the item"),
    ("x.bmp", "图", "expected one of gif, jpeg, jpg, png, webp"),
    ("missing.png", "图", "not found beside the item"),
    ("ok.png", "", "has no alt text"),
])
def test_problems(tmp_path, src, alt, expected):
    Image.new("RGB", (10, 10)).save(tmp_path / "ok.png")
    (tmp_path / "x.bmp").write_bytes(b"BM")
    assert expected in images.problem(Ref(src, alt, 1), tmp_path)
    assert images.problem(Ref("ok.png", "图", 1), tmp_path) is None


def test_widths_names_and_tag(tmp_path):
    Image.new("RGB", (1200, 600)).save(tmp_path / "图解.png")
    img = BodyImage.open(Ref("图解.png", '收支"结构"', 1), tmp_path)
    assert img.widths() == [480, 960, 1200]
    assert img.tag() == ('<img src="%E5%9B%BE%E8%A7%A3-960.png" srcset="%E5%9B%BE%E8%A7%A3-480.png 480w, '
                         '%E5%9B%BE%E8%A7%A3-960.png 960w, %E5%9B%BE%E8%A7%A3-1200.png 1200w" '
                         'sizes="(max-width: 760px) 100vw, 860px" width="960" height="480" '
                         'alt="收支&quot;结构&quot;" loading="lazy" decoding="async">')
    small = BodyImage.open(Ref("s.png", "小", 1), _png(tmp_path / "s.png", (300, 200)))
    assert small.widths() == [300]


def _png(path, size):
    Image.new("RGB", size).save(path)
    return path.parent


def test_written_images_have_no_exif_and_the_original_is_untouched(tmp_path):
    src = photo_with_gps(tmp_path / "photo.jpg")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "out"
    written = BodyImage.open(Ref("photo.jpg", "现场照片", 1), tmp_path).write(out)
    assert [p.name for p in written] == ["photo-480.jpg", "photo-960.jpg", "photo-1200.jpg"]
    for path in written:
        with Image.open(path) as im:
            assert dict(im.getexif()) == {} and "exif" not in im.info
        assert b"SpyCam" not in path.read_bytes()
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before


def test_exif_rotation_is_applied_before_it_is_dropped(tmp_path):
    photo_with_gps(tmp_path / "p.jpg", size=(1200, 800), orientation=6)
    img = BodyImage.open(Ref("p.jpg", "竖拍", 1), tmp_path)
    assert (img.width, img.height) == (800, 1200)
    [*_, largest] = img.write(tmp_path / "out")
    assert Image.open(largest).size == (800, 1200)


def test_image_attachment_is_reencoded_without_metadata(tmp_path):
    src = photo_with_gps(tmp_path / "scan.jpg")
    images.strip_copy(src, tmp_path / "out" / "scan.jpg")
    with Image.open(tmp_path / "out" / "scan.jpg") as im:
        assert im.size == (1200, 800) and dict(im.getexif()) == {}


def test_rewrite_swaps_checked_images_and_refuses_any_other(tmp_path):
    Image.new("RGB", (500, 250)).save(tmp_path / "a.png")
    first, second = BodyImage.open(Ref("a.png", "甲", 1), tmp_path), BodyImage.open(Ref("a.png", "乙", 2), tmp_path)
    out = images.rewrite('<p><img src="a.png" alt="甲"> <img alt="乙" src="a.png"></p>', [first, second])
    assert out.count('srcset="a-480.png 480w, a-500.png 500w"') == 2
    assert 'alt="甲"' in out and 'alt="乙"' in out  # the same file twice keeps each alt text
    with pytest.raises(images.UncheckedImage, match="image 'https://t.example/x.png' was not checked"):
        images.rewrite('<img src="https://t.example/x.png" alt="x">', [first])


def test_find_catches_every_way_of_writing_an_image():
    body = ("![示意图][tu] 和 <img\n  src=\"https://t.example/b.png\" alt=\"b\">\n\n![行内](\nhttps://t.example/c.png)\n\n"
            "[tu]: https://tracker.example.com/a.png\n")
    assert [(r.src, r.line) for r in images.find(body, 5)] == [
        ("https://tracker.example.com/a.png", 5), ("https://t.example/b.png", 5), ("https://t.example/c.png", 8)]
