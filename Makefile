# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint setup vectors catalogs mutation clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh
	touch $(STAMP)

setup: $(STAMP)

## run: set up, then run the main job (keys in ./keys or $HEALTHCODE_HOME, a demo code, verified)
run: $(STAMP)
	$(PY) -m issuer.demo

## test: set up, then lint and run every test (in parallel, one worker a core; a test file
## stays on one worker: TEST_WORKERS=0 runs them in this process, one after another)
TEST_WORKERS ?= auto
test: $(STAMP)
	$(PY) -m ruff check issuer verifier tests bench scripts
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

## bench: set up, then run the benchmarks (figures for docs/PERFORMANCE.md)
bench: $(STAMP)
	$(PY) -m bench

## mutation: set up, then mutate the verifier core and run its tests on each mutant (not in
## make test; docs/TESTING.md)
mutation: $(STAMP)
	$(PY) scripts/mutation.py

## catalogs: add new user-visible strings to the .po catalogs (then translate them)
catalogs: $(STAMP)
	$(PY) scripts/catalogs.py update

## vectors: regenerate tests/vectors/*.json
vectors: $(STAMP)
	$(PY) tests/vectors/generate.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache
