# hpbench developer tasks (https://just.systems; `pip install rust-just`)

# install hpbench with every extra needed for development
setup:
    pip install -e '.[dev,metrics]'

# the default, fast test suite (README's test command)
test *ARGS:
    pytest {{ARGS}}

# lint and format check
lint:
    ruff check hpbench tests benchmarks
    ruff format --check hpbench tests benchmarks

# performance benchmarks; results are recorded in benchmarks/README.md
bench:
    python -m benchmarks

# the main job on the built-in mini suite
run SPEC="specs/mechanic_calibrated.toml":
    hpbench run {{SPEC}}

# re-run the nightly suite and render its site into nightly-site/
nightly:
    hpbench nightly specs/nightly.toml
