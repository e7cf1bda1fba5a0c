"""SMS encoding, segmentation and concatenation: exact boundaries and exact wire bytes."""

from __future__ import annotations

import pytest

from comms.channels.sms.encoding import (
    ESM_CLASS_UDHI,
    EmptyMessageError,
    Encoding,
    Fragment,
    ReassemblyError,
    SegmentLimitError,
    SmsInfo,
    analyse,
    build_parts,
    check_length,
    choose_encoding,
    decode_gsm7,
    decode_ucs2,
    encode,
    encode_gsm7,
    encode_ucs2,
    parse_concat,
    reassemble,
    split,
    with_signature,
)

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "^{}\\[~]|€\f"
ZH = "汉"
EMOJI = "😀"  # U+1F600, outside the BMP: a surrogate pair in UTF-16


# --- encoding choice -------------------------------------------------------------------------


def test_encoding_data_coding_values_match_smpp() -> None:
    assert Encoding.GSM7.data_coding == 0x00
    assert Encoding.UCS2.data_coding == 0x08


def test_whole_gsm_basic_table_and_extension_table_stay_gsm7() -> None:
    assert len(BASIC) == 127  # 128 codes minus ESC
    assert choose_encoding(BASIC + EXTENSION) is Encoding.GSM7


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("@", 0x00),
        ("£", 0x01),
        ("$", 0x02),
        ("¥", 0x03),
        ("è", 0x04),
        ("Ç", 0x09),
        ("\n", 0x0A),
        ("\r", 0x0D),
        ("Δ", 0x10),
        ("_", 0x11),
        ("Ξ", 0x1A),
        ("Æ", 0x1C),
        ("ß", 0x1E),
        ("É", 0x1F),
        (" ", 0x20),
        ("¤", 0x24),
        ("¡", 0x40),
        ("Ä", 0x5B),
        ("§", 0x5F),
        ("¿", 0x60),
        ("ü", 0x7E),
        ("à", 0x7F),
    ],
)
def test_basic_table_characters_encode_to_their_gsm_code(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([code])


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\f", 0x0A),
        ("^", 0x14),
        ("{", 0x28),
        ("}", 0x29),
        ("\\", 0x2F),
        ("[", 0x3C),
        ("~", 0x3D),
        ("]", 0x3E),
        ("|", 0x40),
        ("€", 0x65),
    ],
)
def test_extension_characters_cost_two_septets_esc_then_code(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([0x1B, code])
    assert analyse(char).units == 2


@pytest.mark.parametrize("text", ["price `5`", "façade", "\x1b", "naïve", "“quoted”"])
def test_characters_outside_gsm_alphabet_force_ucs2(text: str) -> None:
    # Backtick, lowercase ç, a literal ESC, ï and curly quotes look harmless but are not GSM.
    assert choose_encoding(text) is Encoding.UCS2


def test_ascii_with_one_chinese_char_becomes_ucs2_counted_in_code_units() -> None:
    info = analyse("Your code is 1234" + ZH)
    assert info.encoding is Encoding.UCS2
    assert info.units == 18
    assert info.segments == 1


def test_chinese_text_is_ucs2() -> None:
    assert analyse("您好，欢迎使用汇通").encoding is Encoding.UCS2


def test_forcing_ucs2_for_gsm_text_uses_ucs2_limits() -> None:
    info = analyse("a" * 71, encoding=Encoding.UCS2)
    assert (info.encoding, info.segments) == (Encoding.UCS2, 2)


def test_forcing_gsm7_on_chinese_text_is_refused() -> None:
    with pytest.raises(ValueError, match="GSM 7-bit"):
        analyse(ZH, encoding=Encoding.GSM7)


# --- segment boundaries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_chinese_segment_boundaries(length: int, segments: int) -> None:
    info = analyse(ZH * length)
    assert (info.encoding, info.units, info.segments) == (Encoding.UCS2, length, segments)
    assert len(split(ZH * length)) == segments


def test_70_chinese_chars_fit_one_segment() -> None:
    assert analyse(ZH * 70) == SmsInfo(Encoding.UCS2, 70, 1, 70, 0)


def test_71_chinese_chars_need_two_segments() -> None:
    assert analyse(ZH * 71) == SmsInfo(Encoding.UCS2, 71, 2, 67, 63)
    assert [len(s) for s in split(ZH * 71)] == [67, 4]


def test_134_chinese_chars_fill_two_segments_exactly() -> None:
    assert analyse(ZH * 134) == SmsInfo(Encoding.UCS2, 134, 2, 67, 0)


def test_135_chinese_chars_need_three_segments() -> None:
    assert analyse(ZH * 135) == SmsInfo(Encoding.UCS2, 135, 3, 67, 66)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm_segment_boundaries(length: int, segments: int) -> None:
    info = analyse("a" * length)
    assert (info.encoding, info.units, info.segments) == (Encoding.GSM7, length, segments)
    assert len(split("a" * length)) == segments


def test_160_gsm_chars_fit_one_segment() -> None:
    assert analyse("a" * 160) == SmsInfo(Encoding.GSM7, 160, 1, 160, 0)


def test_161_gsm_chars_need_two_segments() -> None:
    assert analyse("a" * 161) == SmsInfo(Encoding.GSM7, 161, 2, 153, 145)
    assert [len(s) for s in split("a" * 161)] == [153, 8]


def test_306_gsm_chars_fill_two_segments_exactly() -> None:
    assert analyse("a" * 306).segments == 2


def test_307_gsm_chars_need_three_segments() -> None:
    assert analyse("a" * 307).segments == 3


def test_158_plain_plus_euro_is_160_septets_in_one_segment() -> None:
    assert analyse("a" * 158 + "€") == SmsInfo(Encoding.GSM7, 160, 1, 160, 0)


def test_159_plain_plus_euro_is_161_septets_and_needs_two_segments() -> None:
    info = analyse("a" * 159 + "€")
    assert (info.units, info.segments) == (161, 2)


def test_159_plain_plus_bracket_needs_two_segments() -> None:
    assert analyse("a" * 159 + "[").segments == 2


def test_escape_pair_straddling_153_moves_whole_to_next_segment() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = split(text)
    assert first == "a" * 152  # 152 septets; the ESC would be 153rd, the code 154th
    assert second == "€" + "b" * 10
    assert len(encode_gsm7(first)) == 152
    assert len(encode_gsm7(second)) == 12


def test_escape_pair_ending_exactly_at_153_stays_in_first_segment() -> None:
    first, second = split("a" * 151 + "€" + "b" * 10)
    assert first == "a" * 151 + "€"
    assert second == "b" * 10


def test_straddled_escape_pair_can_add_a_segment_beyond_naive_division() -> None:
    # 306 septets would be two full segments, but each € lands on the boundary and is pushed.
    text = "a" * 152 + "€" + "a" * 150 + "€"
    assert analyse(text).units == 306
    assert analyse(text).segments == 3


def test_emoji_counts_two_ucs2_units() -> None:
    assert analyse(ZH * 68 + EMOJI) == SmsInfo(Encoding.UCS2, 70, 1, 70, 0)
    assert analyse(ZH * 69 + EMOJI).segments == 2


def test_emoji_surrogate_pair_at_67_boundary_moves_whole_to_next_segment() -> None:
    text = ZH * 66 + EMOJI + ZH * 10
    first, second = split(text)
    assert first == ZH * 66  # the pair would occupy units 67 and 68
    assert second == EMOJI + ZH * 10
    assert len(encode_ucs2(first)) == 132
    assert encode_ucs2(second)[:4] == EMOJI.encode("utf-16-be")


def test_emoji_ending_exactly_at_67_stays_in_first_segment() -> None:
    first, _ = split(ZH * 65 + EMOJI + ZH * 10)
    assert first == ZH * 65 + EMOJI


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1000,
        ("€a" * 300),
        ZH * 500,
        (EMOJI + ZH) * 200,
        (BASIC + EXTENSION) * 5,
        "x" + EMOJI * 150,
    ],
)
def test_every_segment_fits_its_part_budget_and_segments_rejoin_to_the_text(text: str) -> None:
    enc = choose_encoding(text)
    segments = split(text)
    assert "".join(segments) == text
    octets_per_unit = 1 if enc is Encoding.GSM7 else 2
    assert all(len(encode(s, enc)) <= enc.part_limit * octets_per_unit for s in segments)
    assert analyse(text).segments == len(segments)


# --- empty bodies and the segment-limit gate -------------------------------------------------


def test_analyse_of_empty_text_is_zero_segments_for_compose_counters() -> None:
    assert analyse("") == SmsInfo(Encoding.GSM7, 0, 0, 160, 160)
    assert split("") == []


def test_empty_body_is_refused_by_check_length_and_build_parts() -> None:
    with pytest.raises(EmptyMessageError):
        check_length("", 3)
    with pytest.raises(EmptyMessageError):
        build_parts("", 1)


def test_check_length_returns_info_when_within_limit() -> None:
    assert check_length(ZH * 134, 2).segments == 2


def test_check_length_over_limit_raises_value_error_with_clear_message() -> None:
    with pytest.raises(SegmentLimitError, match="over the configured segment limit") as exc:
        check_length(ZH * 135, 2)
    assert isinstance(exc.value, ValueError)
    assert exc.value.info.segments == 3
    assert exc.value.max_segments == 2
    assert "3 segments" in str(exc.value)
    assert "at most 2" in str(exc.value)


def test_check_length_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="max_segments"):
        check_length("hi", 0)


# --- signatures ------------------------------------------------------------------------------


def test_signature_prefix_and_suffix() -> None:
    assert with_signature("验证码1234", "【汇通】") == "【汇通】验证码1234"
    assert with_signature("验证码1234", "【汇通】", position="suffix") == "验证码1234【汇通】"


def test_signature_counts_toward_length() -> None:
    body = ZH * 66
    assert analyse(body).segments == 1
    assert analyse(with_signature(body, "【某某公司】")).segments == 2  # 66 + 6 = 72 units


def test_chinese_signature_turns_ascii_body_into_ucs2() -> None:
    body = "Your verification code is 123456, valid for 5 minutes. Do not share it."
    assert analyse(body) == SmsInfo(Encoding.GSM7, 71, 1, 160, 89)
    signed = analyse(with_signature(body, "【Acme】"))
    assert (signed.encoding, signed.units, signed.segments) == (Encoding.UCS2, 77, 2)


def test_signature_already_present_is_not_added_twice() -> None:
    assert with_signature("【汇通】你好", "【汇通】") == "【汇通】你好"
    assert with_signature("你好【汇通】", "【汇通】", position="suffix") == "你好【汇通】"


def test_signature_rejects_unknown_position() -> None:
    with pytest.raises(ValueError, match="position"):
        with_signature("hi", "【汇通】", position="middle")  # type: ignore[arg-type]


# --- round trips -----------------------------------------------------------------------------


def test_gsm7_round_trip_of_full_alphabet() -> None:
    text = BASIC + EXTENSION
    data = encode_gsm7(text)
    assert len(data) == 127 + 2 * 10
    assert all(b <= 0x7F for b in data)
    assert decode_gsm7(data) == text


def test_ucs2_round_trip_with_chinese_and_emoji() -> None:
    text = "汇通 Huitong 😀 €"
    data = encode_ucs2(text)
    assert data[:2] == b"\x6c\x47"  # 汇 U+6C47, big-endian, no BOM
    assert len(data) == 2 * 15  # the emoji is two of the 15 code units
    assert decode_ucs2(data) == text


def test_encode_gsm7_rejects_non_gsm_text() -> None:
    with pytest.raises(ValueError, match="not in the GSM 7-bit alphabet"):
        encode_gsm7("a" + ZH)


def test_decode_gsm7_shows_unknown_escape_as_basic_character() -> None:
    assert decode_gsm7(bytes([0x1B, 0x41])) == "A"


def test_decode_gsm7_shows_double_escape_as_space() -> None:
    assert decode_gsm7(bytes([0x41, 0x1B, 0x1B, 0x42])) == "A B"


def test_decode_gsm7_drops_a_dangling_escape() -> None:
    assert decode_gsm7(bytes([0x41, 0x1B])) == "A"


def test_decode_gsm7_rejects_octets_above_7f() -> None:
    with pytest.raises(ValueError, match="septet"):
        decode_gsm7(b"\x80")


def test_decode_ucs2_rejects_odd_length() -> None:
    with pytest.raises(ValueError, match="odd length"):
        decode_ucs2(b"\x00\x41\x00")


def test_encode_ucs2_rejects_lone_surrogate() -> None:
    with pytest.raises(UnicodeEncodeError):
        encode_ucs2("\ud83d")


# --- outbound parts --------------------------------------------------------------------------


def test_single_segment_has_no_udh_and_esm_class_zero() -> None:
    (part,) = build_parts("Hello @ home", reference=7)
    assert part.short_message == encode_gsm7("Hello @ home")
    assert part.esm_class == 0x00
    assert part.data_coding == 0x00


def test_single_ucs2_segment_has_no_udh() -> None:
    (part,) = build_parts(ZH * 70, reference=7)
    assert part.short_message == encode_ucs2(ZH * 70)
    assert (part.esm_class, part.data_coding) == (0x00, 0x08)


def test_gsm_parts_carry_8bit_concat_udh_and_udhi() -> None:
    parts = build_parts("a" * 161, reference=0x2A)
    assert len(parts) == 2
    assert parts[0].short_message[:6] == bytes([0x05, 0x00, 0x03, 0x2A, 0x02, 0x01])
    assert parts[1].short_message[:6] == bytes([0x05, 0x00, 0x03, 0x2A, 0x02, 0x02])
    assert parts[0].short_message[6:] == b"a" * 153  # 'a' is 0x61 in GSM as in ASCII
    assert len(parts[1].short_message) == 6 + 8
    assert all(p.esm_class == ESM_CLASS_UDHI == 0x40 for p in parts)
    assert all(p.data_coding == 0x00 for p in parts)
    assert [p.text for p in parts] == ["a" * 153, "a" * 8]


def test_ucs2_parts_carry_udh_and_134_octets_of_text() -> None:
    parts = build_parts(ZH * 135, reference=255)
    assert [p.short_message[:6] for p in parts] == [
        bytes([0x05, 0x00, 0x03, 0xFF, 0x03, seq]) for seq in (1, 2, 3)
    ]
    assert [len(p.short_message) for p in parts] == [140, 140, 6 + 2]
    assert all((p.esm_class, p.data_coding) == (0x40, 0x08) for p in parts)


@pytest.mark.parametrize("reference", [-1, 256])
def test_reference_must_fit_one_octet(reference: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        build_parts("hi", reference)


def test_more_than_255_parts_cannot_be_numbered() -> None:
    with pytest.raises(SegmentLimitError):
        build_parts("a" * (153 * 255 + 1), reference=1)


# --- inbound concatenated MO -----------------------------------------------------------------


def test_parse_concat_reads_8bit_reference() -> None:
    frag = parse_concat(bytes([0x05, 0x00, 0x03, 0x2A, 0x03, 0x02]) + b"payload")
    assert frag == Fragment(reference=0x2A, total=3, seq=2, payload=b"payload")
    reference, total, seq, payload = frag
    assert (reference, total, seq, payload) == (0x2A, 3, 2, b"payload")


def test_parse_concat_reads_16bit_reference() -> None:
    frag = parse_concat(bytes([0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01]) + b"xy")
    assert frag == Fragment(0x1234, 2, 1, b"xy")


def test_parse_concat_skips_other_information_elements() -> None:
    # Application port addressing (IEI 0x05, 4 octets) before the concatenation element.
    udh = bytes([0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x09, 0x02, 0x02])
    assert parse_concat(udh + b"z") == Fragment(9, 2, 2, b"z")


def test_parse_concat_without_concat_element_is_one_of_one() -> None:
    assert parse_concat(bytes([0x03, 0x24, 0x01, 0x02]) + b"hi") == Fragment(0, 1, 1, b"hi")


@pytest.mark.parametrize(
    "short_message",
    [
        b"",
        bytes([0x05, 0x00, 0x03, 0x01]),  # UDHL runs past the message
        bytes([0x03, 0x00, 0x03, 0x01]),  # element runs past the UDH
        bytes([0x05, 0x00, 0x03, 0x01, 0x02, 0x00]),  # seq 0
        bytes([0x05, 0x00, 0x03, 0x01, 0x02, 0x03]),  # seq > total
        bytes([0x05, 0x00, 0x03, 0x01, 0x00, 0x00]),  # total 0
    ],
)
def test_parse_concat_rejects_malformed_headers(short_message: bytes) -> None:
    with pytest.raises(ValueError):
        parse_concat(short_message)


def test_outbound_parts_reassemble_to_the_original_text_in_any_order() -> None:
    text = "Grüße aus Köln! " * 20 + "€100 [ok]"
    parts = build_parts(text, reference=3)
    assert len(parts) == 3
    frags = [parse_concat(p.short_message) for p in reversed(parts)]
    assert decode_gsm7(reassemble(frags)) == text


def test_reassembly_repairs_a_surrogate_pair_split_by_the_sender() -> None:
    data = encode_ucs2("hi" + EMOJI)
    frags = [Fragment(1, 2, 2, data[6:]), Fragment(1, 2, 1, data[:6])]  # pair cut in half
    assert decode_ucs2(reassemble(frags)) == "hi" + EMOJI


def test_reassembly_tolerates_identical_redelivered_fragment() -> None:
    frags = [Fragment(5, 2, 1, b"ab"), Fragment(5, 2, 1, b"ab"), Fragment(5, 2, 2, b"cd")]
    assert reassemble(frags) == b"abcd"


def test_reassembly_refuses_missing_part() -> None:
    with pytest.raises(ReassemblyError, match=r"missing part\(s\) \[2\]"):
        reassemble([Fragment(5, 3, 1, b"a"), Fragment(5, 3, 3, b"c")])


def test_reassembly_refuses_conflicting_duplicate() -> None:
    with pytest.raises(ReassemblyError, match="different payloads"):
        reassemble([Fragment(5, 2, 1, b"a"), Fragment(5, 2, 1, b"b"), Fragment(5, 2, 2, b"c")])


def test_reassembly_refuses_fragments_of_another_message() -> None:
    with pytest.raises(ReassemblyError, match="does not belong"):
        reassemble([Fragment(5, 2, 1, b"a"), Fragment(6, 2, 2, b"b")])


def test_reassembly_of_nothing_is_an_error() -> None:
    with pytest.raises(ReassemblyError):
        reassemble([])
