<?php
final class Greeter {
    public static function greet(string $who): string {
        return Words::HELLO . ', ' . $who;
    }
}
