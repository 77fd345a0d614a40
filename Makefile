.PHONY: run test

run:
	scripts/serve.sh

test:
	scripts/test.sh
