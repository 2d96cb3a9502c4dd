"""Known completions of MultiPL-E's HumanEval_0, _1 and _2 (tests/fixtures/multipl-e/) in the five languages with a
toolchain here: each body follows its prompt, and the problem's tests follow it (they close the function where the
language's stop token is the closing brace: C++, Java, Rust). `CORRECT` pass every test; `WRONG` (HumanEval_2
returning the number itself) compile and fail an assertion. Checked by running them through the harness
(tests/test_eval_bigcode_harness.py).
"""

CORRECT = {
    "cpp": [
        """    for (size_t i = 0; i < numbers.size(); i++)
        for (size_t j = i + 1; j < numbers.size(); j++)
            if (std::abs(numbers[i] - numbers[j]) < threshold) return true;
    return false;""",
        """    std::vector<std::string> groups;
    std::string current;
    int depth = 0;
    for (char c : paren_string) {
        if (c == '(') { depth++; current += c; }
        else if (c == ')') {
            depth--;
            current += c;
            if (depth == 0) { groups.push_back(current); current.clear(); }
        }
    }
    return groups;""",
        "    return number - (int)number;",
    ],
    "java": [
        """        for (int i = 0; i < numbers.size(); i++)
            for (int j = i + 1; j < numbers.size(); j++)
                if (Math.abs(numbers.get(i) - numbers.get(j)) < threshold) return true;
        return false;""",
        """        ArrayList<String> groups = new ArrayList<String>();
        StringBuilder current = new StringBuilder();
        int depth = 0;
        for (char c : paren_string.toCharArray()) {
            if (c == '(') { depth++; current.append(c); }
            else if (c == ')') {
                depth--;
                current.append(c);
                if (depth == 0) { groups.add(current.toString()); current.setLength(0); }
            }
        }
        return groups;""",
        "        return number - (int) number;",
    ],
    "js": [
        """  for (let i = 0; i < numbers.length; i++)
    for (let j = i + 1; j < numbers.length; j++)
      if (Math.abs(numbers[i] - numbers[j]) < threshold) return true;
  return false;
}""",
        """  const groups = [];
  let current = "";
  let depth = 0;
  for (const c of paren_string) {
    if (c === "(") { depth++; current += c; }
    else if (c === ")") {
      depth--;
      current += c;
      if (depth === 0) { groups.push(current); current = ""; }
    }
  }
  return groups;
}""",
        """  return number % 1.0;
}""",
    ],
    "php": [
        """    for ($i = 0; $i < count($numbers); $i++)
        for ($j = $i + 1; $j < count($numbers); $j++)
            if (abs($numbers[$i] - $numbers[$j]) < $threshold) return true;
    return false;
}""",
        """    $groups = array();
    $current = "";
    $depth = 0;
    foreach (str_split($paren_string) as $c) {
        if ($c === "(") { $depth++; $current .= $c; }
        elseif ($c === ")") {
            $depth--;
            $current .= $c;
            if ($depth === 0) { $groups[] = $current; $current = ""; }
        }
    }
    return $groups;
}""",
        """    return $number - floor($number);
}""",
    ],
    "rs": [
        """    for i in 0..numbers.len() {
        for j in (i + 1)..numbers.len() {
            if (numbers[i] - numbers[j]).abs() < threshold {
                return true;
            }
        }
    }
    false""",
        """    let mut groups = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in paren_string.chars() {
        if c == '(' {
            depth += 1;
            current.push(c);
        } else if c == ')' {
            depth -= 1;
            current.push(c);
            if depth == 0 {
                groups.push(current.clone());
                current.clear();
            }
        }
    }
    groups""",
        "    number % 1.0",
    ],
}

WRONG = {  # HumanEval_2 (truncate_number) returning its argument: compiles, fails `candidate(3.5) == 0.5`
    "cpp": "    return number;",
    "java": "        return number;",
    "js": "  return number;\n}",
    "php": "    return $number;\n}",
    "rs": "    number",
}
