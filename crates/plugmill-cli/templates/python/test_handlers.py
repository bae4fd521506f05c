import json
import unittest

import handlers


class Handlers(unittest.TestCase):
    def test_greet_says_hello(self):
        self.assertEqual(handlers.greet("plugmill"), "Hello, plugmill!")

    def test_echo_returns_the_data_and_refuses_what_is_not_json(self):
        self.assertEqual(json.loads(handlers.echo('{"a": 1}'))["echo"], {"a": 1})
        with self.assertRaisesRegex(ValueError, "not JSON"):
            handlers.echo("not json")

    def test_cleanup_counts_stale_items(self):
        answer = json.loads(handlers.cleanup('{"items": [{"stale": true}, {}]}'))
        self.assertEqual(answer, {"items": 2, "removed": 1, "kept": 1})


if __name__ == "__main__":
    unittest.main()
