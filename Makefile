PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
DEVENV := $(VENV_PYTHON) scripts/devenv.py
MESSAGE_IGNORES := --ignore=.venv --ignore=.local --ignore=staticfiles --ignore=test-artifacts

.PHONY: venv run test bench lint messages

## venv: the virtualenv in .venv, reinstalled whenever a requirements file changes
venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt requirements-dev.txt
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: the app with a demo clinic at http://demo.localhost:8000/, with a Celery worker and beat
run: venv
	$(DEVENV) run

## test: ruff, then the test suite; pytest arguments go in ARGS, e.g. make test ARGS="-k members"
test: venv
	$(DEVENV) test -- $(ARGS)

## bench: the benchmarks in bench/ with their targets; a selection goes in ARGS
bench: venv
	$(DEVENV) bench -- $(ARGS)

lint: venv
	$(VENV_PYTHON) -m ruff check .

## messages: extract the strings to translate into locale/, then compile the catalogues (docs/i18n.md)
messages: venv
	$(VENV_PYTHON) manage.py makemessages -l zh_Hans -l en
	$(VENV_PYTHON) manage.py compilemessages $(MESSAGE_IGNORES)
