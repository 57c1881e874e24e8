# Thin wrappers over npm scripts; `make run` and `make test` are what the README promises.
.PHONY: run test build bench clean

node_modules: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch node_modules

run: node_modules
	npm start

build: node_modules
	npm run build

test: node_modules
	npm test

bench: node_modules
	npm run bench

clean:
	rm -rf dist
