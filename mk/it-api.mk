# it-api fragment (see Makefile.am): integration tests of the request path
# The browser-facing execute API of issue 7 against a real daemon and mock
# upstreams (tests/integration/upstream.py), one file per theme so that
# make -j runs them side by side; apiutil.py holds their shared checks.
API_IT = tests/integration/api_route.py tests/integration/api_query.py \
	tests/integration/api_body.py tests/integration/api_path.py \
	tests/integration/api_headers.py tests/integration/api_response.py \
	tests/integration/api_network.py tests/integration/api_tenants.py \
	tests/integration/api_session.py tests/integration/api_store.py \
	tests/integration/api_large.py
TESTS += $(API_IT)
EXTRA_DIST += $(API_IT) tests/integration/apiutil.py \
	tests/integration/upstream.py
