"""Segment's FQL trigger language, checked through compile_trigger (the code path config and --where use):
the 121 vectors of fql.md section 11, one probe or more per rule (R4-R38), Segment's trees, error columns.
Every expected value here was produced by Segment's own code (@segment/destination-subscriptions 3.37.0
with @segment/fql-ts 1.10.1)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli import fql
from ld_segment_cli.js import UNDEFINED

TYPE_ERROR = fql.TYPE_ERROR

# (number, expression, event JSON or None for undefined, expected result or Segment's parse error message)
SPEC_VECTORS: list[tuple[int, str, str | None, bool | str]] = [
    (1, 'typo', '{"type":"track"}', TYPE_ERROR),
    (2, 'type', '{"type":"track"}', 'Value token is missing'),
    (3, 'type * "32456"', '{"type":"track"}', TYPE_ERROR),
    (4, '', '{"type":"track"}', TYPE_ERROR),
    (5, 'type = ', '{"type":"eos"}', True),
    (6, 'type = ', '{"type":"track"}', False),
    (7, 'traits.test = true', '{"traits":{"test":true}}', True),
    (8, 'traits.test = true', '{"traits":{"test":"true"}}', False),
    (9, 'traits.test = "true"', '{"traits":{"test":"true"}}', True),
    (10, 'traits.test = "true"', '{"traits":{"test":true}}', False),
    (11, 'traits.test = false', '{"traits":{"test":false}}', True),
    (12, 'properties.foo.bar = "baz"', '{"properties":{"foo":{"bar":"baz"}}}', True),
    (13, 'type = "track"', '{"type":"track"}', True),
    (14, 'type = "track"', '{"type":"identify"}', False),
    (15, 'type = "track" or type = "identify"', '{"type":"identify"}', True),
    (16, 'type = "track" or type = "identify"', '{"type":"group"}', False),
    (17, 'event = "Product Added"', '{"event":"Product Added"}', True),
    (18, 'userId != null', '{"userId":"u1"}', True),
    (19, 'userId != null', '{"userId":null}', False),
    (20, 'context.foo = "bar"', '{"context":{"foo":"bar"}}', True),
    (21, 'name = "Home"', '{"type":"page","name":"Home"}', True),
    (22, 'name != null', '{"name":"Home"}', True),
    (23, 'name = null', '{}', True),
    (24, 'name = null', '{"name":"Home"}', False),
    (25, 'event = "Product Added" or event = "Order Completed"', '{"event":"Order Completed"}', True),
    (26, 'type = "track" and event = "Product Added"', '{"type":"track","event":"Product Added"}', True),
    (27, 'type = "track" and event = "Product Added"', '{"type":"identify","event":"Product Added"}', False),
    (
        28,
        'type = "track" and (event = "Product Added" or event = "Order Completed")',
        '{"type":"track","event":"Order Completed"}',
        True,
    ),
    (
        29,
        'event = "Product Added" and properties.price >= 100',
        '{"event":"Product Added","properties":{"price":100}}',
        True,
    ),
    (
        30,
        'event = "Product Added" and properties.price >= 100',
        '{"event":"Product Added","properties":{"price":"100"}}',
        False,
    ),
    (31, 'event = "identify" and traits.logins >= 10', '{"event":"identify","traits":{"logins":10}}', True),
    (
        32,
        'event = "Product Added" and properties.price >= 100 and properties.premium = "true"',
        '{"event":"Product Added","properties":{"price":150,"premium":"true"}}',
        True,
    ),
    (
        33,
        'event = "identify" and traits.logins >= 10 and traits.plan = "premium"',
        '{"event":"identify","traits":{"logins":11,"plan":"premium"}}',
        True,
    ),
    (
        34,
        (
            '(event = "Product Added" and properties.price >= 100) or (event = "Order Completed" and '
            'properties.total >= 500)'
        ),
        '{"event":"Order Completed","properties":{"total":500}}',
        True,
    ),
    (
        35,
        (
            '(event = "Product Added" and properties.price >= 100) or (event = "Order Completed" and '
            'properties.total >= 500)'
        ),
        '{"event":"Order Completed","properties":{"total":499}}',
        False,
    ),
    (
        36,
        '(event = "identify" and traits.logins >= 100) or (event = "Signed Up" and traits.age >= 50)',
        '{"event":"Signed Up","traits":{"age":50}}',
        True,
    ),
    (37, 'contains(event, "Nike")', '{"event":"Nike Shoes Added"}', True),
    (
        38,
        'event = "Product Added" and contains(properties.name, "Nike")',
        '{"event":"Product Added","properties":{"name":"Air Nike"}}',
        True,
    ),
    (
        39,
        'event = "Product Added" and contains(traits.name, "Nike")',
        '{"event":"Product Added","traits":{"name":"Adidas"}}',
        False,
    ),
    (40, '!contains(event, "Nike")', '{"event":"Adidas"}', True),
    (41, '!contains(event, "Nike")', '{}', False),
    (
        42,
        'event = "Product Added" and !contains(properties.name, "Nike")',
        '{"event":"Product Added","properties":{"name":"Nike"}}',
        False,
    ),
    (43, 'match(event, "X*")', '{"event":"Xbox"}', True),
    (
        44,
        'event = "Product Added" and match(properties.name, "X*")',
        '{"event":"Product Added","properties":{"name":"aX"}}',
        False,
    ),
    (45, '!match(event, "X*")', '{"event":"Xbox"}', False),
    (46, 'match(event, "*X")', '{"event":"boX"}', True),
    (
        47,
        'event = "Product Added" and match(traits.name, "*X")',
        '{"event":"Product Added","traits":{"name":"MaX"}}',
        True,
    ),
    (48, '!match(event, "*X")', '{"event":"boX"}', False),
    (
        49,
        'event = "Product Added" and properties.name != null',
        '{"event":"Product Added","properties":{"name":""}}',
        True,
    ),
    (50, 'event = "Product Added" and traits.name != null', '{"event":"Product Added","traits":{}}', False),
    (
        51,
        'event = "Product Added" and properties.name = null',
        '{"event":"Product Added","properties":{"name":null}}',
        True,
    ),
    (52, 'event = "Product Added" and traits.name = null', '{"event":"Product Added"}', True),
    (53, 'properties.value = "x"', None, False),
    (54, 'properties.value = "x"', '""', False),
    (55, 'properties.value = "x"', '{}', False),
    (56, 'properties.value = "x"', '{"properties":{"value":"x"}}', True),
    (57, 'properties.value = "x"', '{"properties":{"value":"y"}}', False),
    (58, 'properties.value = true', '{"properties":{"value":false}}', False),
    (59, 'properties.value = false', '{"properties":{"value":"false"}}', False),
    (60, 'properties.value = "123"', '{"properties":{"value":123}}', False),
    (61, 'properties.value = "123"', '{"properties":{"value":"123"}}', True),
    (62, 'properties.value = 123', '{"properties":{"value":123}}', True),
    (63, 'properties.value = 123', '{"properties":{"value":"123"}}', False),
    (64, 'properties.value = 123', '{"properties":{"value":0}}', False),
    (65, 'properties.value != "x"', '{"properties":{"value":"x"}}', False),
    (66, 'properties.value != "x"', '{"properties":{"value":"y"}}', True),
    (67, 'properties.value != "123"', '{"properties":{"value":123}}', True),
    (68, 'properties.value != "123"', '{"properties":{"value":"123"}}', False),
    (69, 'properties.value != "123"', '{"properties":{"value":456}}', True),
    (70, 'properties.value != 456', '{"properties":{"value":123}}', True),
    (71, 'properties.value != 456', '{"properties":{"value":"456"}}', False),
    (72, 'properties.value != 456', '{"properties":{"value":0}}', True),
    (73, 'properties.value < 10', '{"properties":{"value":5}}', True),
    (74, 'properties.value < 10', '{"properties":{"value":"5"}}', False),
    (75, 'properties.value < 10', '{"properties":{"value":10}}', False),
    (76, 'properties.value <= 10', '{"properties":{"value":10}}', True),
    (77, 'properties.value <= 10', '{"properties":{"value":"10"}}', False),
    (78, 'properties.value <= 10', '{"properties":{"value":11}}', False),
    (79, 'properties.value > 10', '{"properties":{"value":11}}', True),
    (80, 'properties.value > 10', '{"properties":{"value":10}}', False),
    (81, 'properties.value > 10', '{"properties":{"value":"11"}}', False),
    (82, 'properties.value >= 10', '{"properties":{"value":10}}', True),
    (83, 'properties.value >= 10', '{"properties":{"value":5}}', False),
    (84, 'contains(properties.value, "b")', '{"properties":{"value":"abc"}}', True),
    (85, 'contains(properties.value, "b")', '{"properties":{"value":"xyz"}}', False),
    (86, '!contains(properties.value, "b")', '{"properties":{"value":"abc"}}', False),
    (87, '!contains(properties.value, "b")', '{"properties":{"value":"xyz"}}', True),
    (88, 'match(properties.value, "x*")', '{"properties":{"value":"xabc"}}', True),
    (89, 'match(properties.value, "x*")', '{"properties":{"value":"abc"}}', False),
    (90, '!match(properties.value, "x*")', '{"properties":{"value":"abc"}}', True),
    (91, 'match(properties.value, "*x")', '{"properties":{"value":"abcx"}}', True),
    (92, '!match(properties.value, "*x")', '{"properties":{"value":"abcx"}}', False),
    (93, 'properties.value != null', '{"properties":{"value":"abcx"}}', True),
    (94, 'properties.value != null', '{"properties":{}}', False),
    (95, 'properties.value != null', '{"properties":{"value":null}}', False),
    (96, 'properties.value = null', '{"properties":{}}', True),
    (97, 'properties.value = null', '{"properties":{"value":null}}', True),
    (98, 'properties.value = null', '{"properties":{"value":"abcx"}}', False),
    (99, 'type != "group"', '{"type":"identify"}', True),
    (100, 'type != "group"', '{"type":"group"}', False),
    (101, 'event = "Page Viewed" or event = "Product Viewed"', '{"event":"Product Added"}', False),
    (102, 'event = "Page Viewed" or type = "track"', '{"type":"track"}', True),
    (103, 'event = "Page Viewed" and type = "track"', '{"event":"Page Viewed"}', False),
    (104, 'event = "Page Viewed" and type = "track"', '{"event":"Page Viewed","type":"track"}', True),
    (105, 'event = "Page Viewed" and properties.name = "Catalog"', '{"event":"Page Viewed"}', False),
    (
        106,
        'event = "Page Viewed" and (properties.name = "Catalog" or properties.name = "Home")',
        '{"event":"Page Viewed","properties":{"name":"Home"}}',
        True,
    ),
    (
        107,
        'event = "Page Viewed" and (properties.name = "Catalog" or properties.name = "Home")',
        '{"event":"Page Viewed","properties":{"name":"Other"}}',
        False,
    ),
    (
        108,
        'event = "Page Viewed" and context.ip = "1.1.1.1"',
        '{"event":"Page Viewed","context":{"ip":"1.1.1.1"}}',
        True,
    ),
    (
        109,
        'event = "Page Viewed" and context.ip = "1.1.1.1"',
        '{"event":"Page Viewed","context":{"ip":"8.8.8.8"}}',
        False,
    ),
    (
        110,
        'event = "Page Viewed" and (context.ip = "1.1.1.1" or properties.ip = "2.2.2.2")',
        '{"event":"Page Viewed","context":{"ip":"2.2.2.2"}}',
        False,
    ),
    (
        111,
        'type = "track" and (event = "Page Viewed" or event = "Order Completed")',
        '{"type":"track","event":"Page Viewed"}',
        True,
    ),
    (112, '', '{"type":"track"}', TYPE_ERROR),
    (113, 'typo', '{"type":"track"}', TYPE_ERROR),
    (114, 'type = "track"', '{}', False),
    (115, 'type = "track"', '{"type":"track","event":"Sweater On"}', True),
    (116, 'type = "nope"', '{"type":"track"}', False),
    (
        117,
        'contains(properties.neighborhood, "Lat")',
        '{"type":"track","properties":{"neighborhood":"Latrobe"}}',
        True,
    ),
    (118, 'match(properties.noun, "*bor")', '{"properties":{"noun":"neighbor"}}', True),
    (119, 'properties.sweaterColor = "red"', '{"properties":{"sweaterColor":"red"}}', True),
    (120, 'type = "identify" or type = "alias"', '{"type":"alias"}', True),
    (121, 'type = "identify" or type = "alias"', '{"type":"track"}', False),
]

# (rule, expression, event JSON or None for undefined, expected result or Segment's parse error message)
RULE_VECTORS: list[tuple[str, str, str | None, bool | str]] = [
    ('R4', 'type = "a";', '{"type":"a"}', TYPE_ERROR),
    ('R4', 'type = "a" # note', '{"type":"a"}', TYPE_ERROR),
    ('R4', 'type = "a"\r', '{"type":"a"}', TYPE_ERROR),
    ('R5', 'event = "it\'s"', '{"event":"it\'s"}', True),
    ('R5', 'event = \'say "hi"\'', '{"event":"\'say \\"hi\\"\'"}', True),
    ('R5', 'event = "a\\b"', '{"event":"a\\\\b"}', True),
    ('R5', 'event = "unterminated', '{"event":"unterminated"}', TYPE_ERROR),
    ('R6', 'type = "track"and event = "x"', '{"type":"track","event":"x"}', True),
    ('R6', '(type = "track")', '{"type":"track"}', True),
    ('R7', 'properties.v = 1e5', '{"properties":{"v":1}}', True),
    ('R7', 'properties.v = 5.', '{"properties":{"v":5}}', TYPE_ERROR),
    ('R7', 'properties.v = 1.2.3', '{"properties":{"v":1.2}}', TYPE_ERROR),
    ('R7', 'properties.v = 007', '{"properties":{"v":7}}', True),
    ('R7', 'properties.v = -.5', '{"properties":{"v":-0.5}}', True),
    ('R7', 'type = -', '{"type":"NaN"}', True),
    ('R7', 'properties.v != -', '{"properties":{"v":3}}', True),
    ('R8', 'properties.product\\ 1 = "x"', '{"properties":{"product 1":"x"}}', True),
    ('R8', 'type = "a" and \\type = "a"', '{"type":"a"}', True),
    ('R8', 'type = "a" and type\\', '{"type":"a"}', TYPE_ERROR),
    ('R9', 'properties.price>=100', '{"properties":{"price":100}}', TYPE_ERROR),
    ('R9', 'type="track"', '{"type":"track"}', True),
    ('R9', 'properties["a b"] = "x"', '{"properties":{"a b":"x"}}', TYPE_ERROR),
    ('R10', 'type = "a" OR type = "b"', '{"type":"b"}', False),
    ('R10', 'type = "a" AND type = "a"', '{"type":"a"}', True),
    ('R10', 'userId = NULL', '{"userId":"NULL"}', True),
    ('R10', 'userId = NULL', '{}', False),
    ('R10', 'type = "a" and(type = "b")', '{"type":"a"}', False),
    ('R10', 'type = an', '{"type":"a"}', True),
    ('R11', 'properties.v >=10', '{"properties":{"v":100}}', False),
    ('R11', 'properties.v >= 10', '{"properties":{"v":100}}', True),
    ('R11', 'properties.v >10', '{"properties":{"v":100}}', True),
    ('R11', 'userId!=null', '{"userId":"u"}', TYPE_ERROR),
    ('R11', 'properties.x !=5', '{"properties":{"x":4}}', TYPE_ERROR),
    ('R11', 'type == "track"', '{"type":"="}', True),
    ('R11', 'type == "track"', '{"type":"track"}', False),
    ('R12', '! contains(event, "x")', '{"event":"y"}', TYPE_ERROR),
    ('R12', '!contains(event, "x")', '{"event":"y"}', True),
    ('R14', 'properties.list.0 = 1', '{"properties":{"list":[1]}}', False),
    ('R14', 'properties.list.\\0 = 1', '{"properties":{"list":[1]}}', True),
    ('R15', 'properties.a\\.b = "x"', '{"properties":{"a":{"b":"x"}}}', True),
    ('R15', 'properties.a\\.b = "x"', '{"properties":{"a.b":"x"}}', False),
    ('R16', '(type)', '{"type":"track"}', 'Value token is missing'),
    ('R16', 'type = "a" and event', '{"type":"a"}', 'Value token is missing'),
    ('R17', 'anonymousId = "x" and type = "track"', '{"type":"track"}', True),
    ('R17', 'anonymousId = "x"', '{"anonymousId":"x"}', TYPE_ERROR),
    ('R17', 'TYPE = "track"', '{"type":"track"}', TYPE_ERROR),
    ('R18', 'contains(event)', '{"event":"xeosx"}', True),
    ('R18', 'contains()', '{"event":"x"}', 'contains() is missing a 2nd argument'),
    ('R18', 'contains', '{"event":"x"}', 'contains() is missing a 1st argument'),
    ('R18', 'match(event', '{"event":"x"}', 'match() is missing a 2nd argument'),
    ('R18', 'match', '{"event":"x"}', 'match() is missing a 1st argument'),
    ('R18', 'contains(event "x")', '{"event":"x"}', False),
    ('R19', 'contains(type, "x")', '{"type":"x"}', TYPE_ERROR),
    ('R19', 'contains(type, "x") or event = "y"', '{"event":"y"}', True),
    ('R19', 'contains(propertiesX, "a")', '{"properties":{"propertiesX":"a"}}', True),
    ('R20', '!(type = "a")', '{"type":"a"}', True),
    ('R20', '!type = "a"', '{"type":"a"}', True),
    ('R20', 'not type = "a"', '{"type":"a"}', True),
    ('R21', '((type = "a"))', '{"type":"a"}', TYPE_ERROR),
    ('R21', '(type = "a" and (event = "b" or event = "c"))', '{"type":"a","event":"b"}', TYPE_ERROR),
    ('R21', '(type = "a"', '{"type":"a"}', TYPE_ERROR),
    ('R21', 'type = "a")', '{"type":"a"}', True),
    ('R21', '()', '{"type":"a"}', TYPE_ERROR),
    ('R21', '(event = "y" or contains(event, "x"))', '{"event":"y"}', True),
    (
        'R21',
        'type = "track" and (contains(event, "x") or event = "y")',
        '{"type":"identify","event":"y"}',
        True,
    ),
    ('R21', 'type = "a" and ()', '{"type":"a"}', False),
    ('R21', 'type = "a" and ()', '{"type":"b"}', False),
    ('R21', 'type = "a" or (typo)', '{"type":"a"}', True),
    ('R21', 'type = "a" or (typo)', '{"type":"b"}', False),
    ('R22', 'type = "t" and event = "e" or userId = "u"', '{"userId":"u"}', True),
    ('R22', 'type = "t" or event = "e" and userId = "u"', '{"type":"t"}', False),
    ('R22', 'type = "t" event = "e"', '{"type":"t"}', False),
    ('R22', 'type = "t" event = "e" or userId = "u"', '{"userId":"u"}', True),
    ('R22', 'or type = "t" and', '{"type":"t"}', True),
    ('R24', 'userId = true', '{"userId":true}', True),
    ('R24', 'context.x = 2', '{"context":{"x":2.0}}', True),
    ('R24', 'traits.x != 2', '{"traits":{"x":"3"}}', False),
    ('R24', 'properties.x = abc', '{"properties":{"x":"abc"}}', True),
    ('R24', 'properties.x > null', '{"properties":{"x":1}}', False),
    ('R25', 'event = null', '{"event":"null"}', True),
    ('R25', 'event = null', '{}', False),
    ('R25', 'event != null', '{}', True),
    ('R25', 'type = 123', '{"type":"123"}', True),
    ('R25', 'event = 1.50', '{"event":"1.5"}', True),
    ('R25', 'event = 007', '{"event":"7"}', True),
    ('R26', 'name = true', '{"name":"true"}', True),
    ('R26', 'name = true', '{"name":true}', False),
    ('R26', 'userId = 123', '{"userId":123}', False),
    ('R26', 'userId = 123', '{"userId":"123"}', True),
    ('R27', "type = 'track'", '{"type":"track"}', False),
    ('R27', "type = 'track'", '{"type":"\'track\'"}', True),
    ('R28', 'properties = null', '{"properties":{}}', True),
    ('R28', 'properties = null', '{"properties":{"properties":1}}', False),
    ('R28', 'event.foo = "x"', '{"event":"x"}', True),
    ('R29', 'traits.plan = "pro"', '{"context":{"traits":{"plan":"pro"}}}', False),
    ('R29', 'context.traits.plan = "pro"', '{"context":{"traits":{"plan":"pro"}}}', True),
    ('R29', 'traits.plan = "pro"', '{"type":"identify","traits":{"plan":"pro"}}', True),
    ('R30', 'properties.a.b = null', '{"properties":{"a":0}}', False),
    ('R30', 'properties.a.b = 0', '{"properties":{"a":0}}', True),
    ('R30', 'properties.a.b = ""', '{"properties":{"a":""}}', True),
    ('R30', 'properties.s.length = 3', '{"properties":{"s":"abc"}}', True),
    ('R30', 'properties.s.length = 2', '{"properties":{"s":"a😀"}}', False),
    ('R30', 'properties.l.length = 2', '{"properties":{"l":[1,2]}}', True),
    ('R30', 'properties.l.\\1 = "b"', '{"properties":{"l":["a","b"]}}', True),
    ('R30', 'properties.a.b != null', '{"properties":{"a":{"b":false}}}', True),
    ('R30', 'properties.x = "y"', '{"properties":"xyz"}', False),
    ('R31', 'properties.value = null', '""', True),
    ('R31', 'properties.value = null', None, False),
    ('R31', 'type != "x"', '5', True),
    ('R32', 'properties.v = 1', '{"properties":{"v":true}}', False),
    ('R32', 'properties.v = true', '{"properties":{"v":1}}', False),
    ('R32', 'properties.v < "10"', '{"properties":{"v":5}}', True),
    ('R32', 'properties.v < "abc"', '{"properties":{"v":5}}', False),
    ('R32', 'properties.v > true', '{"properties":{"v":2}}', True),
    ('R32', 'properties.v > true', '{"properties":{"v":1}}', False),
    ('R32', 'contains(properties.v, "a")', '{"properties":{"v":["a"]}}', False),
    ('R32', '!contains(properties.v, "a")', '{"properties":{}}', False),
    ('R32', '!match(properties.v, "a*")', '{"properties":{"v":5}}', False),
    ('R32', 'properties.v != null', '{"properties":{"v":false}}', True),
    ('R32', 'properties.v != null', '{"properties":{"v":0}}', True),
    ('R32', 'properties.v = 1', '{"properties":{"v":1.0}}', True),
    ('R32', 'properties.v != 1', '{"properties":{"v":true}}', False),
    ('R33', 'properties.flag != true', '{"properties":{"flag":true}}', True),
    ('R33', 'properties.flag != false', '{"properties":{"flag":"false"}}', False),
    ('R35', 'type = "Track"', '{"type":"track"}', False),
    ('R35', 'properties.Price > 1', '{"properties":{"price":2}}', False),
    ('R36', 'contains(event, 5)', '{"event":"a5"}', True),
    ('R36', "contains(event, 'x')", '{"event":"x"}', False),
    ('R36', "contains(event, 'x')", '{"event":"a\'x\'"}', True),
    ('R37', 'match(event, "*")', '{"event":"anything"}', True),
    ('R37', 'match(event, "*")', '{"event":5}', False),
    ('R37', 'match(event, "*a*")', '{"event":"*ab"}', True),
    ('R37', 'match(event, "*a*")', '{"event":"bab"}', False),
    ('R37', 'match(event, "a*b")', '{"event":"x*b"}', True),
    ('R37', 'match(event, "abc")', '{"event":"xbc"}', True),
    ('R37', "match(event, 'X*')", '{"event":"aX*\'"}', True),
    ('R37', "match(event, 'X*')", '{"event":"Xa"}', False),
    ('R37', 'match(event, 1)', '{"event":"anything"}', True),
    ('R37', 'match(event, "😀x")', '{"event":"a😀x"}', True),
    ('R38', '!match(event, "a*")', '{"event":"ba"}', True),
    ('R38', '!match(event, "*a")', '{"event":"ab"}', True),
]


def _event(raw: str | None) -> Any:
    return UNDEFINED if raw is None else orjson.loads(raw)


def _assert_segment_behaviour(expression: str, raw_event: str | None, expected: bool | str) -> None:
    trigger = fql.compile_trigger(expression)
    event = _event(raw_event)
    if isinstance(expected, str):
        assert trigger.error is not None, trigger.tree
        assert trigger.segment_error == expected
        assert trigger.error.message.startswith(expected)
        assert trigger.predicate(event) is False
        assert trigger.explain(event).result is False
    else:
        assert trigger.error is None, trigger.error
        assert trigger.predicate(event) is expected
        assert trigger.explain(event).result is expected


@pytest.mark.parametrize(
    ("number", "expression", "event", "expected"), SPEC_VECTORS, ids=[f"v{v[0]}" for v in SPEC_VECTORS]
)
def test_spec_vector_behaves_as_segment(
    number: int, expression: str, event: str | None, expected: bool | str
):
    _assert_segment_behaviour(expression, event, expected)


def test_all_121_spec_vectors_are_present():
    assert [v[0] for v in SPEC_VECTORS] == list(range(1, 122))


@pytest.mark.parametrize(
    ("rule", "expression", "event", "expected"),
    RULE_VECTORS,
    ids=[f"{v[0]}-{i}" for i, v in enumerate(RULE_VECTORS)],
)
def test_rule_probe_behaves_as_segment(rule: str, expression: str, event: str | None, expected: bool | str):
    _assert_segment_behaviour(expression, event, expected)


def _group(*children: Any, operator: str = "and") -> dict[str, Any]:
    return {"type": "group", "operator": operator, "children": list(children)}


def _node(type_: str, operator: str, value: Any = None, name: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": type_}
    if name is not None:
        node["name"] = name
    node["operator"] = operator
    if value is not None:
        node["value"] = value
    return node


TREES = [
    ("type = ", _group(_node("event-type", "=", "eos"))),
    ("traits.test = true", _group(_node("event-trait", "is_true", name="test"))),
    ('traits.test = "true"', _group(_node("event-trait", "=", "true", "test"))),
    ('properties.foo.bar = "baz"', _group(_node("event-property", "=", "baz", "foo.bar"))),
    ("userId != null", _group(_node("userId", "exists"))),
    ("name = null", _group(_node("name", "not_exists"))),
    ('!contains(event, "Nike")', _group(_node("event", "not_contains", "Nike"))),
    ('match(event, "X*")', _group(_node("event", "starts_with", "X"))),
    ('!match(event, "*X")', _group(_node("event", "not_ends_with", "X"))),
    ('match(event, "a*b")', _group(_node("event", "ends_with", "*b"))),
    ("properties.value = 123", _group(_node("event-property", "number_equals", 123, "value"))),
    ("properties.value != 456", _group(_node("event-property", "number_not_equals", 456, "value"))),
    ('properties.price >= "10"', _group(_node("event-property", ">=", "10", "price"))),
    ("properties = null", _group(_node("event-property", "not_exists", name="properties"))),
    ("event = 1.50", _group(_node("event", "=", "1.5"))),
    ("type = 'track'", _group(_node("event-type", "=", "'track'"))),
    (
        '(event = "a" or event = "b")',
        _group(_node("event", "=", "a"), _node("event", "=", "b"), operator="or"),
    ),
    (
        'type = "track" and (event = "a" or event = "b")',
        _group(
            _node("event-type", "=", "track"),
            _group(_node("event", "=", "a"), _node("event", "=", "b"), operator="or"),
        ),
    ),
    (
        'type = "track" and (contains(event, "x") or event = "y")',
        _group(
            _node("event-type", "=", "track"),
            _node("event", "contains", "x"),
            _node("event", "=", "y"),
            operator="or",
        ),
    ),
    (
        'type = "a" and event = "b" or userId = "c"',
        _group(
            _node("event-type", "=", "a"), _node("event", "=", "b"), _node("userId", "=", "c"), operator="or"
        ),
    ),
    ('() type = "a"', _group(None, _node("event-type", "=", "a"))),
]


@pytest.mark.parametrize(("expression", "tree"), TREES, ids=[t[0] for t in TREES])
def test_tree_is_the_one_segment_builds(expression: str, tree: dict[str, Any]):
    trigger = fql.compile_trigger(expression)
    assert trigger.error is None
    assert trigger.to_segment() == tree


ERRORS = [
    ("", 1, TYPE_ERROR, "empty"),
    ("   ", 1, TYPE_ERROR, "empty"),
    ("typo", 1, TYPE_ERROR, "no condition"),
    ('type = "a" and typo', None, None, None),  # a skipped word next to a condition is no error
    ("type", 1, "Value token is missing", "type"),
    ('type = "a" and event', 16, "Value token is missing", "event"),
    ('type * "32456"', 6, TYPE_ERROR, "'*'"),
    ('type = "x', 8, TYPE_ERROR, "no closing"),
    ("userId!=null", 7, TYPE_ERROR, "'!'"),
    ("properties.price>=100", 17, TYPE_ERROR, "put a space before it"),
    ("properties.v = 5.", 17, TYPE_ERROR, "decimal point"),
    ("properties.v = 1.2.3", 19, TYPE_ERROR, "two decimal points"),
    ('type = "a" and type\\', 20, TYPE_ERROR, "backslash"),
    ('(type = "a" and (event = "b"))', 17, TYPE_ERROR, "nested"),
    ('type = "a" and (event = "b"', 16, TYPE_ERROR, "never closed"),
    ("(typo)", 1, TYPE_ERROR, "no condition"),
    ("contains", 1, "contains() is missing a 1st argument", "contains(field, value)"),
    ('type = "a" or match(event', 15, "match() is missing a 2nd argument", "match(field, value)"),
    ('type = "\U0001f600" and \U0001f600', 16, TYPE_ERROR, "'\U0001f600'"),
]


@pytest.mark.parametrize(
    ("expression", "column", "message", "hint"), ERRORS, ids=[e[0] or "empty" for e in ERRORS]
)
def test_parse_error_has_segment_message_and_column(
    expression: str, column: int | None, message: str | None, hint: str | None
):
    trigger = fql.compile_trigger(expression)
    if column is None:
        assert trigger.error is None
        return
    assert trigger.error is not None
    assert trigger.error.column == column
    assert trigger.error.kind == "error"
    assert trigger.segment_error == message
    assert trigger.error.message.startswith(message or "")
    assert hint is not None and hint in trigger.error.message
    assert fql.lint(expression) == []  # a trigger that does not parse is an error, not a set of warnings


def test_compile_is_cached_per_text():
    text = 'type = "track" and event != "Order Completed"'
    assert fql.compile_trigger(text) is fql.compile_trigger(text)


def test_booleans_are_not_numbers_and_numbers_are_not_booleans():
    assert fql.compile_trigger("properties.n = 1").predicate({"properties": {"n": True}}) is False
    assert fql.compile_trigger("properties.n > 0").predicate({"properties": {"n": True}}) is False
    assert fql.compile_trigger("properties.n = true").predicate({"properties": {"n": 1}}) is False
    assert fql.compile_trigger("properties.n = 1").predicate({"properties": {"n": 1.0}}) is True


def test_non_object_events_have_no_fields_and_null_never_matches():
    missing = fql.compile_trigger("properties.value = null")
    assert missing.predicate("") is True
    assert missing.predicate([1]) is True
    assert missing.predicate(None) is False
    assert missing.predicate(UNDEFINED) is False


_FQL_CHARS = st.sampled_from(
    [
        *"tyepvnamorcdslhuIk.=!<>()'\"\\ ,*-+0159\t\n\r[]_",
        *("type", "event", "properties.", "traits.", "contains(", "match(", " and ", " or ", "null", "true"),
    ]
)
_EVENTS = [
    {},
    {"type": "track", "event": "a", "properties": {"a": 1, "b": "x"}},
    {"type": "identify", "userId": "u", "traits": {"t": True}, "context": {"ip": "1"}},
    {"properties": {"a": {"b": 0}}, "name": None},
]


@settings(max_examples=400, deadline=None)
@given(st.lists(_FQL_CHARS, max_size=24).map("".join))
def test_any_text_compiles_without_raising_and_explain_agrees_with_predicate(text: str):
    trigger = fql.compile_trigger(text)
    fql.lint(text)
    for event in _EVENTS:
        result = trigger.predicate(event)
        assert result in (True, False)
        assert trigger.explain(event).result is result
        if trigger.error is not None:
            assert result is False


@pytest.mark.parametrize("text", ['type = "track"', 'type = "identify" or type = "alias"', 'event = "Order Completed"',
                                  'userId = "1"', '(type = "track")', 'type = "track" and event = "x"'])
def test_one_field_shortcut_agrees_with_the_predicate(text):
    """Trigger.equals (what hot loops test instead of calling the predicate) decides like the predicate."""
    trigger = fql.compile_trigger(text)
    values = [None, "track", "identify", "alias", "Order Completed", "1", 1, True, [], {}, "TRACK", ""]
    for value in values:
        for key in ("type", "event", "userId", "name"):
            event = {key: value}
            if trigger.equals is None:
                continue
            field, texts = trigger.equals
            got = event.get(field)
            assert (type(got) is str and got in texts) == trigger.predicate(event), (text, event)
    assert (trigger.equals is None) == (text == 'type = "track" and event = "x"')


@pytest.mark.parametrize(
    ("expression", "event"),
    [(v[1], v[2]) for v in SPEC_VECTORS + RULE_VECTORS if v[2] is not None],
    ids=[f"{v[0]}-{i}" for i, v in enumerate(SPEC_VECTORS + RULE_VECTORS) if v[2] is not None],
)
def test_a_trigger_reads_only_its_roots(expression: str, event: str):
    """Trigger.roots is what the hot path decodes: the event cut down to those keys decides the same."""
    trigger = fql.compile_trigger(expression)
    parsed = orjson.loads(event)
    if type(parsed) is not dict:
        return
    projected = {key: value for key, value in parsed.items() if key in trigger.roots}
    assert trigger.predicate(projected) is trigger.predicate(parsed)


def test_trigger_roots_name_each_conditions_top_level_key():
    assert fql.compile_trigger('type = "track" and properties.a.b > 2 or context.ip = "x"').roots == {
        "type", "properties", "context"}
    assert fql.compile_trigger('event = "A" and !(userId = null) and traits.plan = "p" and name = "n"').roots == {
        "event", "userId", "traits", "name"}
    assert fql.compile_trigger("typo").roots == frozenset()  # never fires: reads nothing
