"""Personal data at rest: encrypted per field, bound to its row and column, keys wrapped."""

import base64
import json
import os
import stat
import threading

import pytest
from conftest import TEST_PASSPHRASE
from sqlalchemy import select, text, update

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.store import Store
from issuer.store.db import Person
from issuer.store.pii import (
    CIPHERTEXT_VERSION,
    NONCE_LENGTH,
    DataKeyError,
    DataKeys,
    DecryptionError,
    load_data_keys,
    normalise_id_number,
)

PEOPLE = [
    ("Zhang Wei", "330106199003071234", "+86 138 0571 2233", "West Lake Clinic"),
    ("Li Na", "33010619851111567X", "+86 139 0571 4455", "West Lake Clinic"),
]
FAST_KDF = {"n": 2**10, "r": 8, "p": 1}  # for tests that are not about the KDF's cost


def enrol_all(store: Store) -> list[str]:
    return [store.create_person(name, id_number, phone, org, actor="clerk", now=1)
            for name, id_number, phone, org in PEOPLE]


# Field encryption ---------------------------------------------------------------------------

def test_round_trip_and_fresh_nonces():
    keys = DataKeys.generate()
    first = keys.encrypt("person.name", "p-1", "Zhang Wei 张伟")
    second = keys.encrypt("person.name", "p-1", "Zhang Wei 张伟")
    assert first != second
    assert first[0] == CIPHERTEXT_VERSION
    assert len(first) == 1 + NONCE_LENGTH + len("Zhang Wei 张伟".encode()) + 16
    assert keys.decrypt("person.name", "p-1", first) == "Zhang Wei 张伟"
    assert keys.decrypt("person.name", "p-1", second) == "Zhang Wei 张伟"


@pytest.mark.parametrize(("column", "person_id"), [
    ("person.phone", "p-1"),  # moved to another column
    ("person.name", "p-2"),  # moved to another person
])
def test_ciphertext_opens_only_in_its_place(column, person_id):
    keys = DataKeys.generate()
    blob = keys.encrypt("person.name", "p-1", "Zhang Wei")
    with pytest.raises(DecryptionError) as caught:
        keys.decrypt(column, person_id, blob)
    assert (caught.value.column, caught.value.person_id) == (column, person_id)


TAMPERINGS = {
    "version": lambda b: bytes([b[0] + 1]) + b[1:],
    "nonce": lambda b: b[:3] + bytes([b[3] ^ 1]) + b[4:],
    "ciphertext": lambda b: b[:14] + bytes([b[14] ^ 0x80]) + b[15:],
    "tag": lambda b: b[:-1] + bytes([b[-1] ^ 1]),
    "truncated": lambda b: b[:-4],
    "empty": lambda b: b"",
    "header only": lambda b: b[:1 + NONCE_LENGTH],
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_ciphertext_is_rejected(tamper):
    keys = DataKeys.generate()
    blob = keys.encrypt("person.name", "p-1", "Zhang Wei")
    with pytest.raises(DecryptionError):
        keys.decrypt("person.name", "p-1", tamper(blob))


def test_other_keys_cannot_decrypt():
    blob = DataKeys.generate().encrypt("person.name", "p-1", "Zhang Wei")
    with pytest.raises(DecryptionError):
        DataKeys.generate().decrypt("person.name", "p-1", blob)


def test_repr_shows_no_key():
    keys = DataKeys.generate()
    assert repr(keys) == "DataKeys(<secret>)"


# Id numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "normal"), [
    ("33010619851111567x", "33010619851111567X"),
    (" 330106 19851111 567x ", "33010619851111567X"),
    ("330106\t1985\n1111567X", "33010619851111567X"),
    ("３３０１０６１９８５１１１１５６７Ｘ", "33010619851111567X"),  # full-width input
    ("ab-12 cd", "AB-12CD"),
])
def test_normalise_id_number(given, normal):
    assert normalise_id_number(given) == normal


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_id_number_is_refused(blank):
    with pytest.raises(ValueError):
        normalise_id_number(blank)


def test_id_number_mac_is_keyed_and_normalised():
    keys = DataKeys.generate()
    mac = keys.id_number_mac("33010619851111567X")
    assert len(mac) == 32
    assert keys.id_number_mac(" 330106 19851111 567x") == mac
    assert keys.id_number_mac("33010619851111567Y") != mac
    assert DataKeys.generate().id_number_mac("33010619851111567X") != mac


# The key file -------------------------------------------------------------------------------

@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    return Home(tmp_path)


def test_key_file_created_once_private_and_wrapped(home):
    keys = load_data_keys(home)  # the real KDF cost, once
    path = home.data_keys
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home.keys).st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["kdf"]["name"] == "scrypt"
    assert document["kdf"]["n"] >= 2**15
    raw = path.read_bytes()
    for secret in (keys._enc_key, keys._mac_key):  # the raw keys are not in the file
        assert secret not in raw and base64.b64encode(secret) not in raw
    again = load_data_keys(home)
    blob = keys.encrypt("person.phone", "p-1", "+86 138")
    assert again.decrypt("person.phone", "p-1", blob) == "+86 138"
    assert again.id_number_mac("X1") == keys.id_number_mac("X1")


def test_wrong_passphrase_is_refused(home, monkeypatch):
    home.keys.mkdir()
    home.data_keys.write_bytes(DataKeys.generate().wrap(TEST_PASSPHRASE.encode(), **FAST_KDF))
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")
    with pytest.raises(DataKeyError):
        load_data_keys(home)


DAMAGE = {
    "not json": lambda d: "{",
    "other format": lambda d: {**d, "format": "something-else"},
    "other version": lambda d: {**d, "version": 2},
    "kdf too costly": lambda d: {**d, "kdf": {**d["kdf"], "n": 2**30}},
    "kdf unknown": lambda d: {**d, "kdf": {**d["kdf"], "name": "md5"}},
    "kdf weakened": lambda d: {**d, "kdf": {**d["kdf"], "n": 2**11}},
    "bad base64": lambda d: {**d, "nonce": "***"},
    "ciphertext flipped": lambda d: {**d, "ciphertext": base64.b64encode(
        bytes([base64.b64decode(d["ciphertext"])[0] ^ 1])
        + base64.b64decode(d["ciphertext"])[1:]).decode()},
    "missing field": lambda d: {k: v for k, v in d.items() if k != "nonce"},
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_key_file_is_refused(damage):
    document = json.loads(DataKeys.generate().wrap(b"pw", **FAST_KDF))
    damaged = damage(document)
    with pytest.raises(DataKeyError):
        DataKeys.unwrap(damaged.encode() if isinstance(damaged, str)
                        else json.dumps(damaged).encode(), b"pw")


def test_missing_key_file_without_create(home):
    with pytest.raises(DataKeyError):
        load_data_keys(home, create=False)


def test_concurrent_first_use_makes_one_key(home):
    """Two processes starting together must not each make a key and lose one."""
    barrier = threading.Barrier(4)
    made: list[DataKeys] = []

    def first_use() -> None:
        barrier.wait()
        made.append(load_data_keys(home))

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    macs = {keys.id_number_mac("X1") for keys in made}
    assert len(made) == 4 and len(macs) == 1


# In the database ----------------------------------------------------------------------------

def test_personal_fields_not_in_the_sqlite_file(tmp_path, store_home, data_keys):
    """Like `strings issuer.db`: no name, id number or phone in the file or its WAL."""
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    store = Store.open(store_home, url=url, data_keys=data_keys)
    enrol_all(store)
    raw_while_open = b"".join(p.read_bytes() for p in tmp_path.glob("plain.db*"))
    store.close()
    raw = (tmp_path / "plain.db").read_bytes()
    assert b"West Lake Clinic" in raw  # organisation names are not personal: the file is read
    for name, id_number, phone, _ in PEOPLE:
        for value in (name, id_number, phone, id_number[-8:], phone[-9:]):
            for encoded in (value.encode(), value.encode("utf-16-le")):
                assert encoded not in raw
                assert encoded not in raw_while_open


def test_personal_fields_not_in_any_column(store):
    enrol_all(store)
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM person")).all()
    dumped = repr(rows).encode() + b"".join(
        bytes(v) for row in rows for v in row if isinstance(v, bytes | memoryview))
    for name, id_number, phone, _ in PEOPLE:
        for value in (name, id_number, phone):
            assert value.encode() not in dumped


def test_lookup_by_id_number(store):
    zhang, li = enrol_all(store)
    assert store.find_person("330106199003071234") == zhang
    assert store.find_person(" 33010619851111567x") == li
    assert store.find_person("330106199003071235") is None


@pytest.mark.parametrize("columns", [("name_enc", "name_enc"), ("phone_enc", "phone_enc"),
                                     ("id_number_enc", "name_enc")])
def test_swapped_ciphertexts_are_rejected(store, columns):
    zhang, li = enrol_all(store)
    first, second = columns
    with store.writing() as session:
        a = session.scalars(select(getattr(Person, first)).where(Person.id == zhang)).one()
        b = session.scalars(select(getattr(Person, second)).where(Person.id == li)).one()
        session.execute(update(Person).where(Person.id == zhang).values({first: b}))
        session.execute(update(Person).where(Person.id == li).values({second: a}))
    for person_id in (zhang, li):
        with pytest.raises(DecryptionError) as caught:
            store.get_person(person_id)
        assert caught.value.person_id == person_id


def test_open_refuses_new_keys_for_a_database_with_people(db_url, store_home):
    with Store.open(store_home, url=db_url) as store:  # creates HOME/keys/data-keys.json
        enrol_all(store)
    store_home.data_keys.unlink()
    with pytest.raises(DataKeyError):
        Store.open(store_home, url=db_url)
    assert not store_home.data_keys.exists()
