package labels

import "fmt"

// Parse reads a selector in Kubernetes syntax, such as
// "app=web,tier in (back,front),!canary". An empty or blank string selects
// everything. Errors name what was found, its byte position (counted from 0)
// and what was expected:
//
//	unable to parse requirement: found ')' at position 7, expected: identifier
func Parse(s string) (Selector, error) {
	p := &parser{items: lex(s)}
	reqs, err := p.parse()
	if err != nil {
		return nil, err
	}
	sortByKey(reqs)
	return internalSelector(reqs), nil
}

type token int

const (
	endOfStringToken token = iota
	closedParToken
	commaToken
	doesNotExistToken
	doubleEqualsToken
	equalsToken
	greaterThanToken
	identifierToken
	inToken
	lessThanToken
	notEqualsToken
	notInToken
	openParToken
)

var string2token = map[string]token{
	")":     closedParToken,
	",":     commaToken,
	"!":     doesNotExistToken,
	"==":    doubleEqualsToken,
	"=":     equalsToken,
	">":     greaterThanToken,
	"in":    inToken,
	"<":     lessThanToken,
	"!=":    notEqualsToken,
	"notin": notInToken,
	"(":     openParToken,
}

// item is one lexed token, its text and the byte offset where it starts.
type item struct {
	tok token
	lit string
	pos int
}

// describe renders the item for an error message.
func (it item) describe() string {
	if it.tok == endOfStringToken {
		return fmt.Sprintf("end of string at position %d", it.pos)
	}
	return fmt.Sprintf("'%s' at position %d", it.lit, it.pos)
}

func isWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSpecialSymbol(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

// lex splits s into tokens, ending with an endOfStringToken. Every run of
// special symbols is split into the longest known operators ("!=" before
// "!"); every other run of non-blank bytes is an identifier or a keyword.
func lex(s string) []item {
	var items []item
	i := 0
	for {
		for i < len(s) && isWhitespace(s[i]) {
			i++
		}
		if i == len(s) {
			return append(items, item{tok: endOfStringToken, pos: i})
		}
		start := i
		if isSpecialSymbol(s[i]) {
			// Every single special symbol is a token, so this always advances.
			tok, n := string2token[s[i:i+1]], 1
			if i+1 < len(s) {
				if t, ok := string2token[s[i:i+2]]; ok {
					tok, n = t, 2
				}
			}
			i += n
			items = append(items, item{tok: tok, lit: s[start:i], pos: start})
			continue
		}
		for i < len(s) && !isWhitespace(s[i]) && !isSpecialSymbol(s[i]) {
			i++
		}
		lit := s[start:i]
		tok, ok := string2token[lit]
		if !ok {
			tok = identifierToken
		}
		items = append(items, item{tok: tok, lit: lit, pos: start})
	}
}

// context tells the parser whether "in" and "notin" are keywords
// (after a key) or may be plain values.
type context int

const (
	keyAndOperator context = iota
	values
)

type parser struct {
	items []item
	pos   int
}

func (p *parser) lookahead(ctx context) item {
	it := p.items[p.pos]
	if ctx == values && (it.tok == inToken || it.tok == notInToken) {
		it.tok = identifierToken
	}
	return it
}

func (p *parser) consume(ctx context) item {
	it := p.lookahead(ctx)
	if it.tok != endOfStringToken {
		p.pos++
	}
	return it
}

func (p *parser) parse() ([]Requirement, error) {
	var reqs []Requirement
	for {
		it := p.lookahead(values)
		switch it.tok {
		case identifierToken, doesNotExistToken:
			r, err := p.parseRequirement()
			if err != nil {
				return nil, fmt.Errorf("unable to parse requirement: %w", err)
			}
			reqs = append(reqs, r)
			next := p.consume(values)
			switch next.tok {
			case endOfStringToken:
				return reqs, nil
			case commaToken:
				if t := p.lookahead(values); t.tok != identifierToken && t.tok != doesNotExistToken {
					return nil, fmt.Errorf("found %s, expected: identifier after ','", t.describe())
				}
			default:
				return nil, fmt.Errorf("found %s, expected: ',' or end of string", next.describe())
			}
		case endOfStringToken:
			return reqs, nil
		default:
			return nil, fmt.Errorf("found %s, expected: !, identifier, or end of string", it.describe())
		}
	}
}

func (p *parser) parseRequirement() (Requirement, error) {
	key, op, err := p.parseKeyAndInferOperator()
	if err != nil {
		return Requirement{}, err
	}
	if op == Exists || op == DoesNotExist {
		return NewRequirement(key, op, nil)
	}
	if op, err = p.parseOperator(); err != nil {
		return Requirement{}, err
	}
	var vals []string
	switch op {
	case In, NotIn:
		vals, err = p.parseValues()
	default:
		vals, err = p.parseExactValue()
	}
	if err != nil {
		return Requirement{}, err
	}
	return NewRequirement(key, op, vals)
}

// parseKeyAndInferOperator reads an optional '!' and a key. It returns
// Exists or DoesNotExist when nothing but ',' or the end follows the key,
// and "" when a binary operator should follow.
func (p *parser) parseKeyAndInferOperator() (string, Operator, error) {
	var op Operator
	it := p.consume(values)
	if it.tok == doesNotExistToken {
		op = DoesNotExist
		it = p.consume(values)
	}
	if it.tok != identifierToken {
		return "", "", fmt.Errorf("found %s, expected: identifier", it.describe())
	}
	if err := validateKey(it.lit, it.pos); err != nil {
		return "", "", err
	}
	if t := p.lookahead(values).tok; t == endOfStringToken || t == commaToken {
		if op != DoesNotExist {
			op = Exists
		}
	}
	return it.lit, op, nil
}

func (p *parser) parseOperator() (Operator, error) {
	it := p.consume(keyAndOperator)
	switch it.tok {
	case inToken:
		return In, nil
	case notInToken:
		return NotIn, nil
	case equalsToken:
		return Equals, nil
	case doubleEqualsToken:
		return DoubleEquals, nil
	case notEqualsToken:
		return NotEquals, nil
	case greaterThanToken:
		return GreaterThan, nil
	case lessThanToken:
		return LessThan, nil
	}
	return "", fmt.Errorf("found %s, expected: one of =, ==, !=, in, notin, >, <", it.describe())
}

// parseValues reads a parenthesised value list: "(a,b)". Empty entries are
// empty values, so "()" and "(a,)" hold "" as Kubernetes' parser does.
func (p *parser) parseValues() ([]string, error) {
	it := p.consume(values)
	if it.tok != openParToken {
		return nil, fmt.Errorf("found %s, expected: '('", it.describe())
	}
	switch t := p.lookahead(values); t.tok {
	case identifierToken, commaToken:
		vals, err := p.parseIdentifiersList()
		if err != nil {
			return nil, err
		}
		if c := p.consume(values); c.tok != closedParToken {
			return nil, fmt.Errorf("found %s, expected: ')'", c.describe())
		}
		return vals, nil
	case closedParToken:
		p.consume(values)
		return []string{""}, nil
	default:
		return nil, fmt.Errorf("found %s, expected: ',', ')' or identifier", t.describe())
	}
}

// parseIdentifiersList reads the inside of "( ... )" up to, not including, ')'.
func (p *parser) parseIdentifiersList() ([]string, error) {
	var vals []string
	for {
		it := p.consume(values)
		switch it.tok {
		case identifierToken:
			if err := validateValue(it.lit, it.pos); err != nil {
				return nil, err
			}
			vals = append(vals, it.lit)
			switch next := p.lookahead(values); next.tok {
			case commaToken:
				continue
			case closedParToken:
				return vals, nil
			default:
				return nil, fmt.Errorf("found %s, expected: ',' or ')'", next.describe())
			}
		case commaToken:
			if len(vals) == 0 {
				vals = append(vals, "") // "(,"
			}
			switch next := p.lookahead(values); next.tok {
			case closedParToken:
				return append(vals, ""), nil // ",)"
			case commaToken:
				p.consume(values)
				vals = append(vals, "") // ",,"
			}
		default:
			return nil, fmt.Errorf("found %s, expected: ',', or identifier", it.describe())
		}
	}
}

// parseExactValue reads the one value after "=", "==", "!=", ">" or "<";
// a missing value (the end or ',') is the empty value.
func (p *parser) parseExactValue() ([]string, error) {
	if t := p.lookahead(values).tok; t == endOfStringToken || t == commaToken {
		return []string{""}, nil
	}
	it := p.consume(values)
	if it.tok != identifierToken {
		return nil, fmt.Errorf("found %s, expected: identifier", it.describe())
	}
	if err := validateValue(it.lit, it.pos); err != nil {
		return nil, err
	}
	return []string{it.lit}, nil
}
