# Thin wrappers over npm scripts; `make run` and `make test` are what the README promises.
.PHONY: run cluster test build bench clean

node_modules: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch node_modules

run: node_modules
	npm start

# Rung 2: locator + 3 hosts + 2 proxies as separate processes against the local PostgreSQL.
cluster: node_modules
	npm run build
	node --no-node-snapshot dist/services/cli/main.js cluster --database-url $${ADAMA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

build: node_modules
	npm run build

test: node_modules
	npm test

bench: node_modules
	npm run bench

clean:
	rm -rf dist
